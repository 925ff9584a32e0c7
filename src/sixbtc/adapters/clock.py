"""Clocks: the real one for services, a fast simulated one for ``sixbtc run`` and a manual one for
tests."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class SystemClock:
    """The machine's clock, in UTC."""

    rate = 1.0

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (waits elsewhere take wall time as they are)."""

    rate = 1.0

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError(f"start: {start} is naive; expected a timezone-aware UTC time")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` (never backwards) and return the new time."""
        if delta < timedelta(0):
            raise ValueError(f"delta: {delta} is negative; a clock never goes back")
        self._now += delta
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (not before the current time)."""
        self.advance(when - self._now)


class SimulatedClock:
    """Market time running ``speed`` times faster than the wall clock: ``start`` at the wall time
    ``since`` (default: now). Processes given the same three agree on the time."""

    def __init__(self, start: datetime, speed: float, since: datetime | None = None) -> None:
        for name, value in (("start", start), ("since", since)):
            if value is not None and value.tzinfo is None:
                raise ValueError(f"{name}: {value} is naive; expected a timezone-aware UTC time")
        if not speed > 0:
            raise ValueError(f"speed: {speed}; expected a number > 0")
        self.start, self.rate = start, speed
        self._since = since.timestamp() if since else time.time()

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self._since) * self.rate)
