"""Candle timeframes and their calendar facts (bar length, bars per year)."""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

MINUTES_PER_YEAR = 365 * 24 * 60


class Timeframe(enum.StrEnum):
    """The six timeframes of the pipeline, valued by their usual exchange label."""

    M5 = "5m"
    M15 = "15m"
    M30 = "30m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def minutes(self) -> int:
        """Length of one bar in minutes."""
        return _MINUTES[self]

    @property
    def duration(self) -> timedelta:
        """Length of one bar."""
        return timedelta(minutes=self.minutes)

    @property
    def bars_per_year(self) -> float:
        """Bars in a 365-day year (crypto trades around the clock): the Sharpe annualisation base."""
        return MINUTES_PER_YEAR / self.minutes

    def last_closed(self, now: datetime) -> datetime:
        """The open time of the last bar closed at ``now`` (bars start on multiples of their
        length since the epoch, UTC)."""
        step = self.minutes * 60
        return datetime.fromtimestamp(int(now.timestamp()) // step * step - step, UTC)

    @classmethod
    def parse(cls, label: str) -> Timeframe:
        """The timeframe for ``label`` (``"1h"``); a ValueError names the accepted labels."""
        try:
            return cls(label)
        except ValueError:
            accepted = ", ".join(t.value for t in cls)
            raise ValueError(f"unknown timeframe {label!r}; expected one of {accepted}") from None


_MINUTES = {
    Timeframe.M5: 5,
    Timeframe.M15: 15,
    Timeframe.M30: 30,
    Timeframe.H1: 60,
    Timeframe.H4: 240,
    Timeframe.D1: 1440,
}
