"""Candles: closed OHLCV bars of one symbol and timeframe as parallel numpy arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import numpy as np

from sixbtc.domain.timeframe import Timeframe

FIELDS = ("open", "high", "low", "close", "volume")
#: Every array of a Candles, in order: the open time, then the bar FIELDS.
COLUMNS = ("time", *FIELDS)


def to_ms(when: datetime) -> int:
    """``when`` (timezone-aware) as UTC epoch milliseconds, the unit of candle times."""
    if when.tzinfo is None:
        raise ValueError(f"time {when.isoformat()}: expected a timezone-aware datetime (UTC)")
    return int(when.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    """UTC epoch milliseconds (a candle time) as an aware UTC datetime, exactly."""
    return _EPOCH + timedelta(milliseconds=int(ms))


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _as_float(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _as_ms(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)


@attrs.frozen(eq=False)
class Candles:
    """Closed bars of ``symbol`` on ``timeframe``; ``time`` is the UTC open time in milliseconds.

    All arrays have one element per bar, in increasing time order (checked on creation).
    """

    symbol: str
    timeframe: Timeframe
    time: np.ndarray = attrs.field(converter=_as_ms)
    open: np.ndarray = attrs.field(converter=_as_float)
    high: np.ndarray = attrs.field(converter=_as_float)
    low: np.ndarray = attrs.field(converter=_as_float)
    close: np.ndarray = attrs.field(converter=_as_float)
    volume: np.ndarray = attrs.field(converter=_as_float)

    def __attrs_post_init__(self) -> None:
        n = self.time.shape[0]
        for name in FIELDS:
            if getattr(self, name).shape != (n,):
                raise ValueError(
                    f"candles {self.symbol} {self.timeframe}: {name} has shape "
                    f"{getattr(self, name).shape}; expected ({n},) like time"
                )
        if n > 1 and not bool(np.all(np.diff(self.time) > 0)):
            i = int(np.flatnonzero(np.diff(self.time) <= 0)[0])
            raise ValueError(
                f"candles {self.symbol} {self.timeframe}: time[{i + 1}] {self.time[i + 1]} after "
                f"time[{i}] {self.time[i]}; times must strictly increase"
            )

    def __len__(self) -> int:
        return int(self.time.shape[0])

    def slice(self, start: int, stop: int) -> Candles:
        """Bars ``start`` (inclusive) to ``stop`` (exclusive), sharing memory."""
        return Candles(
            self.symbol,
            self.timeframe,
            *(getattr(self, name)[start:stop] for name in COLUMNS),
        )

    @classmethod
    def concatenate(cls, parts: list[Candles]) -> Candles:
        """The bars of ``parts`` (one symbol and timeframe, in time order) as one series."""
        first = parts[0]
        return cls(
            first.symbol,
            first.timeframe,
            *(np.concatenate([getattr(p, name) for p in parts]) for name in COLUMNS),
        )

    def between(self, start_ms: int, end_ms: int) -> Candles:
        """Bars whose open time is in ``[start_ms, end_ms)``."""
        lo, hi = np.searchsorted(self.time, [start_ms, end_ms], side="left")
        return self.slice(int(lo), int(hi))

    def closed_between(self, start: datetime, end: datetime) -> Candles:
        """Bars that open at or after ``start`` and close at or before ``end``: a bar still forming
        at ``end`` is left out."""
        return self.between(to_ms(start), to_ms(end - self.timeframe.duration) + 1)
