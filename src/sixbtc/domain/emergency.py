"""Emergency stops: the portfolio's value through each UTC day, and the limits that halt
trading on their own (``emergency.*``).

The portfolio is the main account's cash plus every subaccount's equity: moving capital between
them changes nothing, only trading does. Its drawdown from its peak beyond ``max_drawdown``
flattens everything; its loss since the day's opening beyond ``max_daily_loss`` halts entries
until the next UTC day (once a day: lifted by hand, it does not fire again that day). Candles
older than ``stale_data_minutes`` halt entries until they are fresh.
"""

from __future__ import annotations

from datetime import date, datetime

import attrs

from sixbtc.domain.halt import HaltCause, HaltKind

#: The shortest dead-man delay accepted: several executor passes.
MIN_DEAD_MAN_SECONDS = 60


def _fraction(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not 0 <= value < 1:
        raise ValueError(f"{attribute.name}: {value}; expected a fraction in [0, 1) (0: off)")


def _not_negative(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not value >= 0:
        raise ValueError(f"{attribute.name}: {value}; expected a number >= 0 (0: off)")


@attrs.frozen
class EmergencyLimits:
    """When trading stops on its own; 0 turns a limit off."""

    #: Fraction of the portfolio's peak value lost: flatten everything.
    max_drawdown: float = attrs.field(default=0.25, validator=_fraction)
    #: Fraction of the day's opening value lost: halt entries until 00:00 UTC.
    max_daily_loss: float = attrs.field(default=0.10, validator=_fraction)
    #: Minutes a traded coin's newest candle may lag behind the last closed one: halt entries.
    stale_data_minutes: float = attrs.field(default=30.0, validator=_not_negative)
    #: The exchange cancels a subaccount's open orders this long after the executor's last pass
    #: (the dead-man switch; 0: off). On Hyperliquid it cancels resting stops and targets too.
    dead_man_seconds: int = attrs.field(default=0)

    @dead_man_seconds.validator
    def _dead_man(self, attribute: attrs.Attribute, value: int) -> None:
        if value != 0 and value < MIN_DEAD_MAN_SECONDS:
            raise ValueError(
                f"{attribute.name}: {value}; expected 0 (off) or at least "
                f"{MIN_DEAD_MAN_SECONDS} (the exchange's shortest delay is 5 s; give the "
                "executor several passes)"
            )


@attrs.define
class PortfolioDay:
    """The portfolio's value through one UTC day: at its opening, its running peak (carried from
    day to day), its lowest and its last."""

    day: date
    opening: float
    peak: float
    low: float
    last: float
    updated_at: datetime
    #: The daily-loss stop fired this day (it fires at most once a day).
    loss_halted: bool = False

    @classmethod
    def first(cls, value: float, at: datetime, before: PortfolioDay | None) -> PortfolioDay:
        """The day of ``at`` opening at ``value``; the peak carries on from ``before``."""
        peak = max(value, before.peak) if before is not None else value
        return cls(at.date(), value, peak, value, value, at)

    def mark(self, value: float, at: datetime) -> None:
        """The portfolio is worth ``value`` at ``at`` (same day)."""
        if at.date() != self.day:
            raise ValueError(f"at: {at.isoformat()}; expected a time on {self.day.isoformat()}")
        self.last, self.updated_at = value, at
        self.peak, self.low = max(self.peak, value), min(self.low, value)

    @property
    def drawdown(self) -> float:
        return max(0.0, (self.peak - self.last) / self.peak) if self.peak > 0 else 0.0

    @property
    def daily_loss(self) -> float:
        return max(0.0, (self.opening - self.last) / self.opening) if self.opening > 0 else 0.0

    def restart_peak(self) -> None:
        """A lifted drawdown stop measures from here on (else it would fire again at once)."""
        self.peak = self.last

    def breaches(self, limits: EmergencyLimits) -> list[tuple[HaltKind, HaltCause, str]]:
        """The emergency stops this day's value calls for, with their figures."""
        found = []
        if limits.max_drawdown and self.drawdown >= limits.max_drawdown:
            found.append(
                (
                    HaltKind.FLATTEN,
                    HaltCause.DRAWDOWN,
                    f"portfolio {self.last:.2f} is {self.drawdown:.1%} below its peak "
                    f"{self.peak:.2f} (limit {limits.max_drawdown:.1%})",
                )
            )
        if (
            limits.max_daily_loss
            and not self.loss_halted
            and self.daily_loss >= limits.max_daily_loss
        ):
            found.append(
                (
                    HaltKind.HALT,
                    HaltCause.DAILY_LOSS,
                    f"portfolio {self.last:.2f} lost {self.daily_loss:.1%} since "
                    f"{self.opening:.2f} at 00:00 UTC (limit {limits.max_daily_loss:.1%})",
                )
            )
        return found
