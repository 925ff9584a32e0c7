"""PythonBacktestEngine: a slow, plain transcription of the simulation rules (spec section 4).

It exists to be obviously right: the numba engine is tested against it, and tests of the use cases
may use it as an in-memory engine. One coin at a time, one bar at a time, one position object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

from sixbtc.adapters.engine.portfolio import common_timeframe, signal_values
from sixbtc.adapters.engine.run import ExitReason, SimulatedTrade, SimulationRun
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import Costs, ExecutionParameters, StopUnit
from sixbtc.domain.candles import Candles
from sixbtc.domain.metrics import Metrics


@attrs.define
class _Position:
    direction: int
    entry_price: float
    entry_index: int
    stop: float
    target: float

    @classmethod
    def open(
        cls, direction: int, price: float, index: int, parameters: ExecutionParameters, atr: float
    ) -> _Position | None:
        """The position, or None when an ATR stop cannot be placed (no or zero ATR, or a stop at or
        beyond liquidation)."""
        if parameters.stop_unit is StopUnit.PERCENT:
            stop = price * (1 - direction * parameters.stop_loss)
            target = price * (1 + direction * parameters.take_profit)
        else:
            distance = parameters.stop_loss * atr
            if math.isnan(atr) or distance <= 0 or parameters.leverage * distance >= price:
                return None
            stop = price - direction * distance
            target = price + direction * (parameters.take_profit * atr)
        return cls(direction, price, index, stop, target)

    def past_stop(self, price: float) -> bool:
        return price <= self.stop if self.direction > 0 else price >= self.stop

    def past_target(self, price: float) -> bool:
        return price >= self.target if self.direction > 0 else price <= self.target


def return_on_margin(
    direction: int, entry: float, exit_price: float, leverage: float, costs: Costs
) -> float:
    """The spec's formula: ``leverage * (d * (x/e - 1) - (fee + slippage) * (1 + x/e))``."""
    ratio = exit_price / entry
    return leverage * (direction * (ratio - 1) - costs.per_side * (1 + ratio))


def average_true_range_before(candles: Candles, period: int) -> list[float]:
    """For each bar, the ATR of the bars closed before it (NaN until ``period`` have closed).

    True range: high - low for the first bar, else ``max(high, previous close) - min(low,
    previous close)``. ATR: the mean of the first ``period`` true ranges, then Wilder's
    ``(previous * (period - 1) + true range) / period``.
    """
    ranges = [float(candles.high[0] - candles.low[0])] if len(candles) else []
    for i in range(1, len(candles)):
        previous_close = float(candles.close[i - 1])
        ranges.append(
            max(float(candles.high[i]), previous_close) - min(float(candles.low[i]), previous_close)
        )
    atr_after = [math.nan] * len(candles)  # ATR including bar i
    for i in range(period - 1, len(candles)):
        if i == period - 1:
            atr_after[i] = sum(ranges[:period]) / period
        else:
            atr_after[i] = (atr_after[i - 1] * (period - 1) + ranges[i]) / period
    return [math.nan, *atr_after[:-1]][: len(candles)]


def simulate_coin(
    market: Market, parameters: ExecutionParameters, costs: Costs
) -> list[SimulatedTrade]:
    """Every trade of one coin, in order."""
    candles = market.candles
    signals = signal_values(market)
    trades: list[SimulatedTrade] = []
    position: _Position | None = None
    previous_signal = 0  # the signal of the last closed bar acts at this bar's open
    atr = average_true_range_before(candles, parameters.atr_period)

    def close(index: int, price: float, reason: ExitReason) -> None:
        nonlocal position
        assert position is not None
        trades.append(
            SimulatedTrade(
                symbol=candles.symbol,
                direction=position.direction,
                entry_time=int(candles.time[position.entry_index]),
                entry_price=position.entry_price,
                exit_time=int(candles.time[index]),
                exit_price=price,
                reason=reason,
                return_on_margin=return_on_margin(
                    position.direction, position.entry_price, price, parameters.leverage, costs
                ),
            )
        )
        position = None

    for i in range(len(candles)):
        bar_open, high = float(candles.open[i]), float(candles.high[i])
        low, bar_close = float(candles.low[i]), float(candles.close[i])
        # At the open: enter when flat, or exit on an opposite signal, or on a gap past a level.
        if position is None:
            if previous_signal != 0:
                position = _Position.open(previous_signal, bar_open, i, parameters, atr[i])
        elif previous_signal == -position.direction:
            close(i, bar_open, ExitReason.SIGNAL)
        elif position.past_stop(bar_open):
            close(i, bar_open, ExitReason.STOP_LOSS)
        elif position.past_target(bar_open):
            close(i, bar_open, ExitReason.TAKE_PROFIT)
        # Inside the bar: the stop first, then the target; at its close: max hold, then the end.
        if position is not None:
            worst, best = (low, high) if position.direction > 0 else (high, low)
            if position.past_stop(worst):
                close(i, position.stop, ExitReason.STOP_LOSS)
            elif position.past_target(best):
                close(i, position.target, ExitReason.TAKE_PROFIT)
            elif i - position.entry_index + 1 >= parameters.max_hold_bars:
                close(i, bar_close, ExitReason.MAX_HOLD)
            elif i == len(candles) - 1:
                close(i, bar_close, ExitReason.END)
        previous_signal = int(signals[i])
    return trades


class PythonBacktestEngine:
    """The reference engine: same port and extras as NumbaBacktestEngine, a thousand times slower."""

    def sweep(
        self,
        markets: Sequence[Market],
        combinations: Sequence[ExecutionParameters],
        costs: Costs,
    ) -> list[Metrics]:
        return [self.run(markets, parameters, costs).metrics for parameters in combinations]

    def run(
        self, markets: Sequence[Market], parameters: ExecutionParameters, costs: Costs
    ) -> SimulationRun:
        timeframe = common_timeframe(markets)
        per_coin = [simulate_coin(market, parameters, costs) for market in markets]
        times = np.unique(np.concatenate([m.candles.time for m in markets])).astype(np.int64)
        # Each coin's equity after every bar of the shared grid: its trades compounded up to then.
        coin_equity = np.ones((len(markets), times.size))
        for row, trades in zip(coin_equity, per_coin, strict=True):
            value = 1.0
            for trade in trades:
                value *= 1 + trade.return_on_margin
                row[np.searchsorted(times, trade.exit_time) :] = value
        equity = np.concatenate([[1.0], coin_equity.mean(axis=0)])
        order = sorted(
            (trade.exit_time, coin, n)
            for coin, trades in enumerate(per_coin)
            for n, trade in enumerate(trades)
        )
        trades = [per_coin[coin][n] for _, coin, n in order]
        returns = np.array([t.return_on_margin for t in trades])
        metrics = Metrics.from_returns(returns, equity, timeframe.bars_per_year)
        return SimulationRun(trades, times, equity, metrics)
