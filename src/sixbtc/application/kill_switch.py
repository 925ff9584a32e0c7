"""The kill switch, set by the operator (``sixbtc halt``, ``flatten``, ``resume``) or by an
emergency stop, recorded in the database and obeyed by every executor at its next pass.

Every halt is one row: its kind, cause, figures, who set it and when, how it is lifted and, once
lifted, by whom and when. :class:`KillSwitchControl` is the only path that sets, flattens or lifts
one; the executor asks it, each pass, to mark the portfolio's value (drawdown and daily-loss stops)
and the candles' freshness (stale-data stop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import attrs

from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.domain.emergency import EmergencyLimits, PortfolioDay
from sixbtc.domain.halt import Halt, HaltCause, HaltKind, KillSwitch

log = logging.getLogger(__name__)


@attrs.frozen
class KillSwitchControl:
    """Sets, flattens and lifts halts; ``limits`` are the emergency stops'."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    limits: EmergencyLimits = attrs.field(factory=EmergencyLimits)

    def current(self) -> KillSwitch:
        """The active halts."""
        with self.unit_of_work() as uow:
            return KillSwitch.of(uow.halts.active())

    def halt(self, by: str, note: str, kind: HaltKind = HaltKind.HALT) -> Halt:
        """Stop new entries (``FLATTEN``: and close everything); an operator's halt of the same
        kind already active is returned as it is."""
        with self.unit_of_work() as uow:
            for active in uow.halts.active():
                if active.cause is HaltCause.OPERATOR and active.kind is kind:
                    return active
            halt = self._set(uow, kind, HaltCause.OPERATOR, note or "no note given", by)
            uow.commit()
        return halt

    def resume(self, by: str) -> list[Halt]:
        """Lift every active halt; a lifted drawdown stop measures from the value now."""
        now = self.clock.now()
        with self.unit_of_work() as uow:
            lifted = uow.halts.active()
            for halt in lifted:
                self._lift(uow, halt, by)
            day = uow.portfolio.latest()
            if day is not None and any(h.cause is HaltCause.DRAWDOWN for h in lifted):
                day.restart_peak()
                uow.portfolio.save(day)
            uow.commit()
        log.info("trading resumed by %s at %s", by, now.isoformat())
        return lifted

    def mark(self, portfolio_value: float) -> KillSwitch:
        """The portfolio is worth ``portfolio_value`` now: a new UTC day lifts the daily-loss
        stop; a breached limit sets its stop (once). The active halts after that."""
        now = self.clock.now()
        with self.unit_of_work() as uow:
            day = uow.portfolio.latest()
            if day is None or day.day != now.date():
                day = PortfolioDay.first(portfolio_value, now, day)
                for halt in uow.halts.active():
                    if halt.cause is HaltCause.DAILY_LOSS:
                        self._lift(uow, halt, "executor: a new UTC day")
            else:
                day.mark(portfolio_value, now)
            active = {h.cause for h in uow.halts.active()}
            for kind, cause, detail in day.breaches(self.limits):
                if cause not in active:
                    self._set(uow, kind, cause, detail, "executor")
                day.loss_halted |= cause is HaltCause.DAILY_LOSS
            uow.portfolio.save(day)
            switch = KillSwitch.of(uow.halts.active())
            uow.commit()
        return switch

    def candles(self, lagging: Mapping[str, float]) -> None:
        """``lagging``: the traded coins whose newest candle is behind, with how many minutes.
        Past ``stale_data_minutes``, entries halt; once none is, that halt is lifted."""
        limit = self.limits.stale_data_minutes
        stale = {coin: minutes for coin, minutes in lagging.items() if limit and minutes > limit}
        with self.unit_of_work() as uow:
            halt = KillSwitch.of(uow.halts.active()).active(HaltCause.STALE_DATA)
            if stale and halt is None:
                coins = ", ".join(f"{c} {m:.0f} min" for c, m in sorted(stale.items()))
                detail = f"candles behind by more than {limit:g} minutes: {coins}"
                self._set(uow, HaltKind.HALT, HaltCause.STALE_DATA, detail, "executor")
            elif not stale and halt is not None:
                self._lift(uow, halt, "executor: candles fresh again")
            uow.commit()

    def flattened(self) -> None:
        """Every subaccount is flat: the flattens in progress stay on as halts."""
        now = self.clock.now()
        with self.unit_of_work() as uow:
            for halt in uow.halts.active():
                if halt.flattening:
                    halt.flattened(now)
                    uow.halts.save(halt)
                    log.warning("flatten %d done: every subaccount is flat", halt.id)
            uow.commit()

    def _set(self, uow: UnitOfWork, kind: HaltKind, cause: HaltCause, detail: str, by: str) -> Halt:
        halt = Halt(kind, cause, detail, by, self.clock.now())
        uow.halts.add(halt)
        verb = "flattened" if kind is HaltKind.FLATTEN else "halted"
        log.log(_level(by), "trading %s: %s", verb, halt.describe())
        return halt

    def _lift(self, uow: UnitOfWork, halt: Halt, by: str) -> None:
        halt.lift(self.clock.now(), by)
        uow.halts.save(halt)
        log.log(_level(by), "halt %d (%s) lifted by %s", halt.id, halt.cause, by)


def _level(by: str) -> int:
    """What the executor decides on its own is a warning; an operator's command, information
    (the command prints it)."""
    return logging.WARNING if by.startswith("executor") else logging.INFO
