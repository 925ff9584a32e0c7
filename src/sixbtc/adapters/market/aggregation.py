"""Aggregation of 5m candles into the higher timeframes, aligned to UTC.

A higher-timeframe bucket starts at a multiple of its length since the Unix epoch (UTC): 15m at
:00/:15/:30/:45, 1h on the hour, 4h at 00/04/08/12/16/20 UTC, 1d at 00:00 UTC. Its open is the first
5m open, its high the highest high, its low the lowest low, its close the last close and its volume
the sum of the volumes of the 5m bars inside it.

Rules at the edges and at gaps (decision):

- A bucket is returned only when it is closed: its close time (open time + length) is at or before
  ``known_until``, which defaults to the close time of the last 5m bar. The 1h bucket opening at
  11:00 therefore appears only once the 11:55 bar is in, never at 11:50.
- A bucket that starts before the first 5m bar is dropped: its true open is unknown.
- Inside the history, a bucket with missing 5m bars is built from the bars present (an exchange
  leaves a 5m bar out when nothing traded); a bucket with no 5m bar at all is absent, never
  invented. The data checks report every gap when the bars enter the cache.
"""

from __future__ import annotations

import numpy as np

from sixbtc.domain.candles import Candles
from sixbtc.domain.timeframe import Timeframe

MINUTE_MS = 60_000
BASE = Timeframe.M5


def bar_ms(timeframe: Timeframe) -> int:
    """Length of one bar of ``timeframe`` in milliseconds."""
    return timeframe.minutes * MINUTE_MS


def aggregate(base: Candles, timeframe: Timeframe, known_until: int | None = None) -> Candles:
    """The closed ``timeframe`` candles built from 5m ``base`` candles.

    ``known_until`` (UTC ms) is the time up to which ``base`` is complete; by default the close time
    of its last bar. Returns ``base`` itself for the 5m timeframe (minus bars not closed by
    ``known_until``).
    """
    if base.timeframe is not BASE:
        raise ValueError(f"aggregate: base timeframe is {base.timeframe}; expected {BASE}")
    step = bar_ms(timeframe)
    if len(base) == 0:
        return _empty(base.symbol, timeframe)
    if known_until is None:
        known_until = int(base.time[-1]) + bar_ms(BASE)
    if timeframe is BASE:
        stop = int(np.searchsorted(base.time, known_until - step, side="right"))
        return base.slice(0, stop)
    bucket = base.time // step
    starts = np.flatnonzero(np.diff(bucket, prepend=bucket[0] - 1))
    open_time = bucket[starts] * step
    keep = (open_time >= base.time[0]) & (open_time + step <= known_until)
    ends = np.append(starts[1:], len(base)) - 1
    return Candles(
        base.symbol,
        timeframe,
        open_time[keep],
        base.open[starts][keep],
        np.maximum.reduceat(base.high, starts)[keep],
        np.minimum.reduceat(base.low, starts)[keep],
        base.close[ends][keep],
        np.add.reduceat(base.volume, starts)[keep],
    )


def _empty(symbol: str, timeframe: Timeframe) -> Candles:
    nothing = np.empty(0)
    return Candles(symbol, timeframe, np.empty(0, np.int64), *(nothing,) * 5)
