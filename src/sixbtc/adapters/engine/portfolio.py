"""Markets laid out for the kernel: one shared time grid, bar-major arrays of shape (bars, coins)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from sixbtc.application.ports import Market
from sixbtc.domain.timeframe import Timeframe

MISSING, BAR, LAST_BAR = 0, 1, 2


def signal_values(market: Market) -> np.ndarray:
    """The market's signals as int8 in {-1, 0, +1}; NaN (indicator warm-up) counts as flat.

    Raises ValueError naming the coin, the bar and the value for anything else.
    """
    values = np.asarray(market.signals)
    symbol = market.candles.symbol
    aligned = values.dtype == np.int8 and values.shape == (len(market.candles),)
    if aligned and (values.size == 0 or (values.min() >= -1 and values.max() <= 1)):
        return values  # the sandbox's own type: nothing to convert
    values = values.astype(np.float64)
    if values.shape != (len(market.candles),):
        raise ValueError(
            f"signals of {symbol}: shape {values.shape}; expected ({len(market.candles)},) "
            "like its candles"
        )
    values = np.where(np.isnan(values), 0.0, values)
    bad = np.flatnonzero((values != 1.0) & (values != 0.0) & (values != -1.0))
    if bad.size:
        raise ValueError(
            f"signals of {symbol}: {float(values[bad[0]])} at bar {bad[0]}; expected -1, 0, +1 "
            "or NaN (flat)"
        )
    return values.astype(np.int8)


def common_timeframe(markets: Sequence[Market]) -> Timeframe:
    """The one timeframe every market is on; ValueError if none or several."""
    if not markets:
        raise ValueError("markets: empty; expected at least one coin")
    timeframes = {m.candles.timeframe for m in markets}
    if len(timeframes) != 1:
        raise ValueError(f"markets: timeframes {sorted(timeframes)}; expected one shared timeframe")
    return timeframes.pop()


@attrs.frozen(eq=False)
class Portfolio:
    """Every coin's candles and signals on the union of their bar times.

    ``prev_signal[g, c]`` is coin ``c``'s signal on its bar before ``g`` (0 on its first bar), the
    one that acts at the open of ``g``; ``kind[g, c]`` is MISSING, BAR or LAST_BAR.
    """

    timeframe: Timeframe
    symbols: tuple[str, ...]
    times: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    prev_signal: np.ndarray
    kind: np.ndarray

    @classmethod
    def of(cls, markets: Sequence[Market]) -> Portfolio:
        timeframe = common_timeframe(markets)
        signals = [signal_values(m) for m in markets]
        first = markets[0].candles.time
        aligned = all(np.array_equal(m.candles.time, first) for m in markets)
        layout = _side_by_side if aligned else _on_union_of_times
        times, prices, prev_signal, kind = layout(markets, signals)
        return cls(
            timeframe,
            tuple(m.candles.symbol for m in markets),
            np.asarray(times, dtype=np.int64),
            prev_signal=prev_signal,
            kind=kind,
            **prices,
        )

    @property
    def bar_count(self) -> int:
        return int(self.times.size)


_Layout = tuple[np.ndarray, dict[str, np.ndarray], np.ndarray, np.ndarray]
_PRICES = ("open", "high", "low", "close")


def _side_by_side(markets: Sequence[Market], signals: list[np.ndarray]) -> _Layout:
    """Markets on the same bar times (the usual case): columns side by side, no bar missing."""
    times = markets[0].candles.time
    shape = (times.size, len(markets))
    prev_signal = np.zeros(shape, dtype=np.int8)
    kind = np.full(shape, BAR, dtype=np.int8)
    if times.size:
        prev_signal[1:] = np.stack(signals, axis=1)[:-1]
        kind[-1] = LAST_BAR
    prices = {
        name: np.stack([getattr(m.candles, name) for m in markets], axis=1) for name in _PRICES
    }
    return times, prices, prev_signal, kind


def _on_union_of_times(markets: Sequence[Market], signals: list[np.ndarray]) -> _Layout:
    """Markets on different bar times: every time any has, NaN and MISSING where one has none."""
    times = np.unique(np.concatenate([m.candles.time for m in markets]))
    rows = [np.searchsorted(times, m.candles.time) for m in markets]
    shape = (times.size, len(markets))
    prices = {name: np.full(shape, np.nan) for name in _PRICES}
    prev_signal = np.zeros(shape, dtype=np.int8)
    kind = np.full(shape, MISSING, dtype=np.int8)
    for c, (market, row, signal) in enumerate(zip(markets, rows, signals, strict=True)):
        for name, grid in prices.items():
            grid[row, c] = getattr(market.candles, name)
        if row.size:
            prev_signal[row[1:], c] = signal[:-1]
            kind[row, c] = BAR
            kind[row[-1], c] = LAST_BAR
    return times, prices, prev_signal, kind
