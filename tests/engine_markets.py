"""Builders of small hand-made markets for engine tests."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sixbtc.application.ports import Market
from sixbtc.domain.candles import Candles
from sixbtc.domain.timeframe import Timeframe

HOUR_MS = 3_600_000


def market(
    bars: Sequence[tuple[float, float, float, float]],
    signals: Sequence[float],
    *,
    symbol: str = "BTC",
    timeframe: Timeframe = Timeframe.H1,
    first_bar: int = 0,
) -> Market:
    """A market from (open, high, low, close) rows and one signal per row; bar ``i`` opens at
    ``(first_bar + i)`` timeframe lengths after the epoch."""
    prices = np.array(bars, dtype=float).reshape(-1, 4)
    step = timeframe.minutes * 60_000
    times = (first_bar + np.arange(len(prices))) * step
    candles = Candles(symbol, timeframe, times, *prices.T, np.ones(len(prices)))
    return Market(candles, np.array(signals, dtype=float))


def flat_bar(price: float) -> tuple[float, float, float, float]:
    """A bar that does not move."""
    return (price, price, price, price)
