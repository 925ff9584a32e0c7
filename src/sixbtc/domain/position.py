"""The trading rules of spec section 4, bar by bar: opening a position (stop and target levels, the
ATR guard) and the precedence of exits. One set of rules for the reference engine, the paper
exchange and the executor; the numba kernel is tested against them.

Within a bar, in order: at its open, an opposite signal of the last closed bar exits, else a gap
beyond the stop or the target fills at the open; inside the bar, the stop first, then the target
(both touched: the stop); at its close, the maximum holding time (the entry bar counts as one),
then the end of the window. A position opened at a bar's open is checked within that same bar.
"""

from __future__ import annotations

import enum
import math

import attrs
import numpy as np

from sixbtc.domain.backtest import ExecutionParameters, StopUnit


class Direction(enum.IntEnum):
    """A position's direction; its value is the sign of its exposure."""

    LONG = 1
    SHORT = -1


class ExitReason(enum.StrEnum):
    """Why a position was closed; the values are the spec's labels."""

    STOP_LOSS = "sl"
    TAKE_PROFIT = "tp"
    SIGNAL = "signal"
    MAX_HOLD = "max_hold"
    END = "end"


def wanted(signal: int, held: Direction | None) -> Direction | None:
    """The position a signal of the last closed bar asks for at the next open: an opposite signal
    exits (flat: never a reversal in the same step), a signal while flat enters its direction, any
    other signal keeps what is held."""
    if held is not None:
        return None if signal == -int(held) else held
    return Direction(signal) if signal else None


@attrs.frozen
class Bar:
    """One closed candle's prices."""

    open: float
    high: float
    low: float
    close: float


@attrs.frozen
class Exit:
    """Where a position closes: the fill price and the reason."""

    price: float
    reason: ExitReason


@attrs.frozen
class OpenPosition:
    """A position with its protective levels; ``entry_bar`` is the index of its entry bar."""

    direction: Direction
    entry_price: float
    entry_bar: int
    stop: float
    target: float

    @classmethod
    def open(
        cls,
        direction: Direction,
        price: float,
        entry_bar: int,
        parameters: ExecutionParameters,
        atr: float = math.nan,
    ) -> OpenPosition | None:
        """The position entered at ``price``, or None when an ATR stop cannot be placed (no or
        zero ATR, or a stop at or beyond liquidation): the signal is then not taken."""
        sign = int(direction)
        if parameters.stop_unit is StopUnit.PERCENT:
            stop = price * (1 - sign * parameters.stop_loss)
            target = price * (1 + sign * parameters.take_profit)
        else:
            distance = parameters.stop_loss * atr
            if math.isnan(atr) or distance <= 0 or parameters.leverage * distance >= price:
                return None
            stop = price - sign * distance
            target = price + sign * (parameters.take_profit * atr)
        return cls(direction, price, entry_bar, stop, target)

    def past_stop(self, price: float) -> bool:
        return price <= self.stop if self.direction is Direction.LONG else price >= self.stop

    def past_target(self, price: float) -> bool:
        return price >= self.target if self.direction is Direction.LONG else price <= self.target

    def exit_at_open(self, signal: int, bar_open: float) -> Exit | None:
        """The exit due at a bar's open: ``signal`` (of the last closed bar) opposite to the
        position, else a gap beyond the stop or the target, filled at the open."""
        if signal == -int(self.direction):
            return Exit(bar_open, ExitReason.SIGNAL)
        if self.past_stop(bar_open):
            return Exit(bar_open, ExitReason.STOP_LOSS)
        if self.past_target(bar_open):
            return Exit(bar_open, ExitReason.TAKE_PROFIT)
        return None

    def exit_within(self, bar: Bar, index: int, max_hold_bars: int, last: bool) -> Exit | None:
        """The exit inside bar ``index`` (after its open): the stop first, then the target, then
        at its close the maximum holding time, then the end of the window (``last``)."""
        worst, best = (
            (bar.low, bar.high) if self.direction is Direction.LONG else (bar.high, bar.low)
        )
        if self.past_stop(worst):
            return Exit(self.stop, ExitReason.STOP_LOSS)
        if self.past_target(best):
            return Exit(self.target, ExitReason.TAKE_PROFIT)
        if index - self.entry_bar + 1 >= max_hold_bars:
            return Exit(bar.close, ExitReason.MAX_HOLD)
        if last:
            return Exit(bar.close, ExitReason.END)
        return None


def average_true_range(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int
) -> list[float]:
    """For each bar, the ATR including it (NaN until ``period`` bars have closed).

    True range: high - low for the first bar, else ``max(high, previous close) - min(low,
    previous close)``. ATR: the mean of the first ``period`` true ranges, then Wilder's
    ``(previous * (period - 1) + true range) / period``.
    """
    bars = len(close)
    ranges = [float(high[0] - low[0])] if bars else []
    for i in range(1, bars):
        previous_close = float(close[i - 1])
        ranges.append(max(float(high[i]), previous_close) - min(float(low[i]), previous_close))
    atr = [math.nan] * bars
    for i in range(period - 1, bars):
        if i == period - 1:
            atr[i] = sum(ranges[:period]) / period
        else:
            atr[i] = (atr[i - 1] * (period - 1) + ranges[i]) / period
    return atr


def average_true_range_before(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int
) -> list[float]:
    """For each bar, the ATR of the bars closed before it: what an entry at its open knows."""
    return [math.nan, *average_true_range(high, low, close, period)[:-1]][: len(close)]
