"""A service process's sign of life: what ``sixbtc status`` shows of each service."""

from __future__ import annotations

from datetime import datetime

import attrs


@attrs.frozen
class Heartbeat:
    """One process of a service (``owner`` is ``host:pid``): when it started, its latest tick,
    how many ticks ran and failed, its latest error (kept after later successes) and, once it
    stopped cleanly, when."""

    service: str
    owner: str
    started_at: datetime
    beat_at: datetime
    ticks: int = 0
    failures: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    stopped_at: datetime | None = None

    def ticked(self, at: datetime, error: str | None = None) -> Heartbeat:
        """This heartbeat after one more tick at ``at`` (failed with ``error`` when given)."""
        if error is None:
            return attrs.evolve(self, beat_at=at, ticks=self.ticks + 1)
        return attrs.evolve(
            self,
            beat_at=at,
            ticks=self.ticks + 1,
            failures=self.failures + 1,
            last_error=error,
            last_error_at=at,
        )

    def stopped(self, at: datetime) -> Heartbeat:
        """This heartbeat of a process that stopped cleanly at ``at``."""
        return attrs.evolve(self, stopped_at=at)
