"""PythonBacktestEngine: the domain's trading rules (:mod:`sixbtc.domain.position`) applied one
coin at a time, one bar at a time (spec section 4).

It exists to be obviously right: the numba engine is tested against it, and tests of the use cases
may use it as an in-memory engine.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sixbtc.adapters.engine.portfolio import common_timeframe, signal_values
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.position import (
    Bar,
    Direction,
    Exit,
    OpenPosition,
    average_true_range_before,
)
from sixbtc.domain.simulation import SimulatedTrade, SimulationRun


def simulate_coin(
    market: Market, parameters: ExecutionParameters, costs: Costs
) -> list[SimulatedTrade]:
    """Every trade of one coin, in order, by the domain's trading rules."""
    candles = market.candles
    signals = signal_values(market)
    trades: list[SimulatedTrade] = []
    position: OpenPosition | None = None
    previous_signal = 0  # the signal of the last closed bar acts at this bar's open
    atr = average_true_range_before(candles.high, candles.low, candles.close, parameters.atr_period)

    def close(index: int, exit: Exit) -> None:
        nonlocal position
        assert position is not None
        trades.append(
            SimulatedTrade(
                symbol=candles.symbol,
                direction=position.direction,
                entry_time=int(candles.time[position.entry_bar]),
                entry_price=position.entry_price,
                exit_time=int(candles.time[index]),
                exit_price=exit.price,
                reason=exit.reason,
                return_on_margin=costs.return_on_margin(
                    position.direction, position.entry_price, exit.price, parameters.leverage
                ),
            )
        )
        position = None

    last = len(candles) - 1
    for i in range(len(candles)):
        bar = Bar(
            float(candles.open[i]), float(candles.high[i]), float(candles.low[i]),
            float(candles.close[i]),
        )  # fmt: skip
        if position is None:
            if previous_signal != 0:
                direction = Direction(previous_signal)
                position = OpenPosition.open(direction, bar.open, i, parameters, atr[i])
        elif (exit := position.exit_at_open(previous_signal, bar.open)) is not None:
            close(i, exit)
        if position is not None:
            exit = position.exit_within(bar, i, parameters.max_hold_bars, i == last)
            if exit is not None:
                close(i, exit)
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
