"""Which ACTIVE strategies are due for a re-backtest, and in which order (spec section 4)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import attrs

from sixbtc.domain.strategy import Standing


@attrs.frozen
class RetestSchedule:
    """A strategy is due ``interval`` after its last backtest; one never backtested, or without
    a score (migrated from the original system), is due at once.

    Due strategies are served FIFO: those without a score first, then oldest
    ``last_backtested_at`` (never first), then the smaller id. The claim repositories serve
    re-backtests in this order (the SQL one in SQL; a contract test holds them together).
    """

    interval: timedelta = timedelta(days=3)

    def is_due(self, standing: Standing, now: datetime) -> bool:
        """True when ``standing`` needs a re-backtest at ``now``."""
        last = standing.last_backtested_at
        return standing.score is None or last is None or last + self.interval <= now

    def due(self, standings: Iterable[Standing], now: datetime, limit: int) -> list[Standing]:
        """At most ``limit`` due standings, oldest first."""
        due = [s for s in standings if self.is_due(s, now)]
        due.sort(
            key=lambda s: (
                s.score is not None,
                s.last_backtested_at is not None,
                s.last_backtested_at or now,
                s.strategy_id.int,
            )
        )
        return due[:limit]

    def cutoff(self, now: datetime) -> datetime:
        """Strategies last backtested at or before this time are due."""
        return now - self.interval
