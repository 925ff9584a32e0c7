"""When a LIVE strategy must be retired (spec section 6)."""

from __future__ import annotations

import attrs

from sixbtc.domain.reasons import Code, Reason


@attrs.frozen
class LiveRecord:
    """What the monitor knows of a LIVE strategy at a check."""

    score_live: float
    score_backtest: float
    drawdown: float
    closed_trades: int


@attrs.frozen
class RetirementPolicy:
    """Retire when, with at least ``min_trades`` closed trades, the live score is below ``min_score``
    or more than ``max_degradation`` below the backtest score; or, whatever the trade count, when
    the drawdown on the subaccount's capital exceeds ``max_drawdown``.
    """

    min_score: float = 30.0
    max_degradation: float = 0.50
    max_drawdown: float = 0.30
    min_trades: int = 10

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.min_score <= 100:
            raise ValueError(f"min_score: {self.min_score}; expected a score between 0 and 100")
        if self.max_degradation < 0:
            raise ValueError(f"max_degradation: {self.max_degradation}; expected a number >= 0")
        if not 0 <= self.max_drawdown <= 1:
            raise ValueError(
                f"max_drawdown: {self.max_drawdown}; expected a fraction between 0 and 1"
            )
        if self.min_trades < 0:
            raise ValueError(f"min_trades: {self.min_trades}; expected an integer >= 0")

    def reason_to_retire(self, record: LiveRecord) -> Reason | None:
        """The retirement reason (with its figures), or None to keep trading."""
        if record.drawdown > self.max_drawdown:
            return Reason(Code.DRAWDOWN, f"{record.drawdown:.4f} > {self.max_drawdown}")
        if record.closed_trades < self.min_trades:
            return None
        if record.score_live < self.min_score:
            return Reason(Code.LIVE_SCORE, f"{record.score_live:.3f} < {self.min_score}")
        degradation = self.degradation(record)
        if degradation > self.max_degradation:
            return Reason(Code.DEGRADATION, f"{degradation:.4f} > {self.max_degradation}")
        return None

    @staticmethod
    def degradation(record: LiveRecord) -> float:
        """How far the live score fell below the backtest score, as a fraction of the latter."""
        if record.score_backtest <= 0.0:
            return 0.0
        return (record.score_backtest - record.score_live) / record.score_backtest
