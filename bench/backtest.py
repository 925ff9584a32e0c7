"""Backtest speed: kernel throughput, the full initial backtest of one strategy, one re-backtest.

Run: ``.venv/bin/python bench/backtest.py``. Prints figures against the goals of issue 5; nothing
here asserts. The vectorbt comparison runs when the ``bench`` extra is installed
(``pip install -e '.[bench]'``). Throughput is measured by CPU time: the machine is shared.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import numba
import numpy as np

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.engine import NumbaBacktestEngine, kernel
from sixbtc.adapters.engine.numba_engine import parameter_arrays, price_arrays, trade_rows
from sixbtc.adapters.engine.portfolio import Portfolio
from sixbtc.adapters.generator.sources import CatalogueStrategySource
from sixbtc.adapters.market.synthetic import SyntheticMarketData
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.backtest import Backtester, BacktestSettings
from sixbtc.application.pool import PoolRules
from sixbtc.application.ports import Market, SignalSource
from sixbtc.config import Config
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.candles import Candles
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe

NOW = datetime(2026, 6, 1, tzinfo=UTC)
COINS = 30
VECTORBT_COINS = 3


def moving_average_cross(candles: Candles, fast: int = 12, slow: int = 48) -> np.ndarray:
    """+1 while the fast mean of closes is above the slow one, -1 below, NaN while warming up."""
    sums = np.cumsum(np.r_[0.0, candles.close])

    def mean(window: int) -> np.ndarray:
        out = np.full(len(candles), np.nan)
        out[window - 1 :] = (sums[window:] - sums[:-window]) / window
        return out

    return np.sign(mean(fast) - mean(slow))


class NumpySignalSource:
    """The bench's stand-in for the sandboxed runner: every code is the moving-average cross."""

    def signals(self, code: str, candles: Candles) -> np.ndarray:
        return moving_average_cross(candles)


def kernel_throughput(data: SyntheticMarketData, config: Config) -> list[Market]:
    start = NOW - timedelta(days=365)
    markets = []
    for symbol in data.symbols()[:COINS]:
        candles = data.candles(symbol, Timeframe.M5, start, NOW)
        markets.append(Market(candles, moving_average_cross(candles)))
    combinations = config.parameter_grid().combinations()
    bar_combinations = sum(len(m.candles) for m in markets) * len(combinations)
    costs = config.costs()
    shape = f"{len(markets)} coins x {len(markets[0].candles)} 5m bars x {len(combinations)} combinations"
    # The kernel alone, on markets laid out once, one thread (its speed per core).
    portfolio = Portfolio.of(markets)
    arguments = (*price_arrays(portfolio), *parameter_arrays(portfolio, combinations))
    cost, bars_per_year = costs.per_side, portfolio.timeframe.bars_per_year
    with numba_threads(1):
        kernel.sweep(*arguments, cost, bars_per_year, 1)  # compile or load the cache
        cpu = best_cpu_seconds(lambda: kernel.sweep(*arguments, cost, bars_per_year, 1))
    print(
        f"kernel alone, 1 thread: {shape}: {cpu:.2f} CPU s = {bar_combinations / cpu / 1e6:,.0f} M "
        "bar-combinations per CPU-second (goal >= 500 M)"
    )
    # The engine's sweep (layout of the markets included) with 1 worker and every core.
    cores = numba.config.NUMBA_NUM_THREADS
    for workers in sorted({1, cores}):
        engine = NumbaBacktestEngine(workers=workers)
        began, cpu_began = time.perf_counter(), time.process_time()
        metrics = engine.sweep(markets, combinations, costs)
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        print(
            f"engine sweep, {workers} worker(s): {elapsed:.2f} s wall, {cpu:.2f} CPU s = "
            f"{bar_combinations / cpu / 1e6:,.0f} M bar-combinations per CPU-second; "
            f"{sum(m.trades for m in metrics):,} trades"
        )
    return markets


@contextlib.contextmanager
def numba_threads(count: int) -> Iterator[None]:
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


def best_cpu_seconds(work: Callable[[], object], repeats: int = 3) -> float:
    """The least CPU time of a few runs (other processes only ever slow a run down)."""
    best = math.inf
    for _ in range(repeats):
        began = time.process_time()
        work()
        best = min(best, time.process_time() - began)
    return best


def crossings(candles: Candles) -> np.ndarray:
    """The moving-average cross as one-bar signals: +1 or -1 on the bar where its sign flips."""
    level = np.nan_to_num(moving_average_cross(candles))
    return np.where(np.r_[False, level[1:] != level[:-1]], level, 0.0)


def without_signals_on_stop_bars(
    markets: list[Market], combinations: list[ExecutionParameters], costs: Costs
) -> list[Market]:
    """The markets without the signals that fall on a bar where a stop or target fills, for any of
    the combinations (repeated until there is none: removing one changes later trades).

    vectorbt takes one order per bar and column: a stop filled in a bar drops that bar's signal,
    where our rules act on it at the next open. This is the only rule that differs on the compared
    configuration, so the comparison uses signals it never meets.
    """
    signals = np.column_stack([m.signals for m in markets]).astype(np.float64)
    while True:
        current = [Market(m.candles, signals[:, c].copy()) for c, m in enumerate(markets)]
        portfolio = Portfolio.of(current)
        removed = 0
        for parameters in combinations:
            rows = trade_rows(portfolio, parameters, costs)[0]
            at_levels = rows[np.isin(rows[:, 6], (kernel.STOP_LOSS, kernel.TAKE_PROFIT))]
            bars, coins = at_levels[:, 4].astype(int), at_levels[:, 0].astype(int)
            removed += int(np.count_nonzero(signals[bars, coins]))
            signals[bars, coins] = 0.0
        if not removed:
            return current


def vectorbt_comparison(markets: list[Market]) -> None:
    """The same signals and parameters through our kernel and vectorbt's ``Portfolio.from_signals``.

    Compared configuration: 300 combinations of percent stop (15 values) and target (20 values),
    leverage 1, no maximum holding (vectorbt has none), long and short one-bar signals, an opposite
    signal closing without reversing (``upon_opposite_entry="close"``), the configured fees and
    slippage. Our entry at the open after a signal bar is vectorbt's order on the signal bar at the
    price of the next open; its stops, set from that price (``stop_entry_price="price"``), are
    checked from the next bar on (the bar our entry fills in, as our rules want), the stop first,
    a bar opening past the stop filling at its open. vectorbt runs one combination per call (its
    arrays for all 300 at once would take gigabytes), on the first VECTORBT_COINS coins.
    """
    try:
        import vectorbt as vbt
    except ImportError:
        print("vectorbt comparison: vectorbt is not installed (pip install -e '.[bench]'); skipped")
        return
    markets = markets[:VECTORBT_COINS]
    costs = Config().costs()
    combinations = [
        ExecutionParameters(float(sl), float(tp), leverage=1.0, max_hold_bars=10**9)
        for sl in np.round(np.linspace(0.005, 0.08, 15), 4)
        for tp in np.round(np.linspace(0.005, 0.10, 20), 4)
    ]
    crossing = [Market(m.candles, crossings(m.candles)) for m in markets]
    signalled = without_signals_on_stop_bars(crossing, combinations, costs)
    prices = {
        name: np.column_stack([getattr(m.candles, name) for m in signalled])
        for name in ("open", "high", "low", "close")
    }
    signal = np.column_stack([m.signals for m in signalled])
    signal[-1] = 0.0  # a signal on the last bar opens nothing
    next_open = np.vstack([prices["open"][1:], np.full((1, signal.shape[1]), np.nan)])
    no_exits = np.zeros(signal.shape, dtype=bool)

    def theirs(parameters: ExecutionParameters, costs: Costs, rows: slice = slice(None)):
        result = vbt.Portfolio.from_signals(
            prices["close"][rows],
            entries=signal[rows] > 0,
            exits=no_exits[rows],
            short_entries=signal[rows] < 0,
            short_exits=no_exits[rows],
            price=next_open[rows],
            open=prices["open"][rows],
            high=prices["high"][rows],
            low=prices["low"][rows],
            sl_stop=parameters.stop_loss,
            tp_stop=parameters.take_profit,
            stop_entry_price="price",
            stop_exit_price="stopmarket",  # slippage on stop fills too, as in our costs
            upon_opposite_entry="close",
            fees=costs.fee,
            slippage=costs.slippage,
        )
        return int(result.trades.count().sum()), float(result.total_return().mean())

    theirs(combinations[0], costs, slice(0, 500))  # compile vectorbt's numba functions
    began = time.process_time()
    vectorbt_results = [theirs(p, costs) for p in combinations]
    vectorbt_cpu = time.process_time() - began
    engine = NumbaBacktestEngine(workers=1)
    ours = engine.sweep(signalled, combinations, costs)
    engine_cpu = best_cpu_seconds(lambda: engine.sweep(signalled, combinations, costs))
    portfolio = Portfolio.of(signalled)
    arguments = (*price_arrays(portfolio), *parameter_arrays(portfolio, combinations))
    cost, bars_per_year = costs.per_side, portfolio.timeframe.bars_per_year
    with numba_threads(1):
        kernel_cpu = best_cpu_seconds(lambda: kernel.sweep(*arguments, cost, bars_per_year, 1))
    removed = sum(np.count_nonzero(m.signals) for m in crossing) - np.count_nonzero(signal)
    print(
        f"vectorbt {vbt.__version__} comparison: {signal.shape[1]} coins x {signal.shape[0]} 5m "
        f"bars x {len(combinations)} combinations; moving-average crossings as one-bar signals "
        f"({np.count_nonzero(signal):,} left after removing {removed:,} that fall on a bar where a "
        "stop or target fills: vectorbt drops such a signal, our rules act on it at the next open)"
    )
    same = sum(m.trades == t for m, (t, _) in zip(ours, vectorbt_results, strict=True))
    print(
        f"  trade counts identical for {same} of {len(combinations)} combinations; trades in all: "
        f"ours {sum(m.trades for m in ours):,}, vectorbt {sum(t for t, _ in vectorbt_results):,}"
    )
    free = Costs(fee=0.0, slippage=0.0)
    for index in (0, 106, 299):
        parameters, mine, (trades, total_return) = (
            combinations[index],
            ours[index],
            vectorbt_results[index],
        )
        mine_free, (_, theirs_free) = (
            engine.sweep(signalled, [parameters], free)[0],
            theirs(parameters, free),
        )
        print(
            f"  sl {parameters.stop_loss} tp {parameters.take_profit}: trades ours {mine.trades:,} "
            f"vectorbt {trades:,}; mean total return ours {mine.total_return:+.4f} vectorbt "
            f"{total_return:+.4f}; without costs ours {mine_free.total_return:+.10f} vectorbt "
            f"{theirs_free:+.10f}"
        )
    print(
        "  (with costs the returns differ by the cost model only: vectorbt moves each fill price by "
        "the slippage and charges fees on the moved notional, ours subtracts (fee + slippage) x "
        "notional on both sides from the return on margin)"
    )
    bar_combinations = signal.size * len(combinations)
    print(
        f"  speed, 1 thread, by CPU time: vectorbt {bar_combinations / vectorbt_cpu / 1e6:,.1f} M "
        f"bar-combinations/s ({vectorbt_cpu:.1f} s); our kernel "
        f"{bar_combinations / kernel_cpu / 1e6:,.0f} M/s = {vectorbt_cpu / kernel_cpu:,.0f}x "
        f"(goal >= 100x); our engine's sweep, layout included, "
        f"{bar_combinations / engine_cpu / 1e6:,.0f} M/s = {vectorbt_cpu / engine_cpu:,.0f}x"
    )


def pipeline(config: Config, data: SyntheticMarketData) -> None:
    """The initial backtest and the re-backtests, first with an in-process numpy signal function,
    then with a generated strategy whose signals come from the sandbox (the pipeline's real path:
    180 signal requests to confined processes)."""
    generated = CatalogueStrategySource(seed=0).propose(1)[0]
    sandbox = SandboxSignalSource()
    try:
        sandbox.signals(
            generated.code, data.candles("C00", Timeframe.D1, NOW - timedelta(days=90), NOW)
        )
        for label, source, code in (
            ("numpy moving-average cross, in process", NumpySignalSource(), "ma_cross"),
            (f"generated {generated.name}, sandboxed", sandbox, generated.code),
        ):
            print(f"-- {label}")
            backtest_and_retest(config, data, source, code)
    finally:
        sandbox.close()


def backtest_and_retest(
    config: Config, data: SyntheticMarketData, source: SignalSource, code: str
) -> None:
    store = InMemoryStore()
    clock = ManualClock(NOW)
    settings = BacktestSettings(
        timeframes=tuple(config.timeframes()),
        grid=config.parameter_grid(),
        costs=config.costs(),
        scoring=config.scoring_policy(),
        pool=PoolRules(config.active_pool.max_size, config.active_pool.min_score_entry),
        training_days=config.backtester.training_days,
        holdout_days=config.backtester.holdout_days,
        coins=COINS,
        signal_concurrency=os.cpu_count() or 1,
    )
    backtester = Backtester(
        InMemoryUnitOfWork(store),
        data,
        source,
        NumbaBacktestEngine(config.backtester.workers),
        clock,
        settings,
    )
    new = Strategy(name="bench", code=code, strategy_type="TRN", created_at=NOW)
    new.status = Status.VALIDATED
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(new)
        uow.commit()
    began = time.perf_counter()
    result = backtester.initial(new.id)
    elapsed = time.perf_counter() - began
    print(
        f"initial backtest: {len(settings.timeframes)} timeframes x {COINS} coins x "
        f"{len(settings.grid)} combinations x {settings.training_days + settings.holdout_days} "
        f"days in {elapsed:.2f} s wall (goal <= 5 s); chose {result.timeframe} "
        f"{result.parameters.as_dict()}, score {result.score:.1f}"
    )
    # The re-backtest on the chosen timeframe, and on 5m (the slowest) whatever was chosen.
    for timeframe in (result.timeframe, Timeframe.M5):
        member = Strategy(
            name=f"retest_{timeframe}",
            code=f"{code}\n# retest {timeframe}\n",
            strategy_type="TRN",
            created_at=NOW,
            timeframe=timeframe,
            parameters=result.parameters.as_dict(),
            score_backtest=50.0,
            last_backtested_at=NOW,
        )
        member.status = Status.ACTIVE
        with InMemoryUnitOfWork(store) as uow:
            uow.strategies.add(member)
            uow.commit()
        clock.advance(timedelta(days=3))
        began = time.perf_counter()
        backtester.retest(member.id)
        print(
            f"re-backtest on {timeframe}: {time.perf_counter() - began:.3f} s wall (goal <= 0.5 s)"
        )


def main() -> None:
    config = Config()
    print(
        f"numba threads: {numba.config.NUMBA_NUM_THREADS}, workers setting: {config.backtester.workers}"
    )
    began = time.perf_counter()
    data = SyntheticMarketData(
        end=NOW + timedelta(days=10), days=410, coins=[f"C{i:02d}" for i in range(COINS)]
    )
    for symbol in data.symbols():
        for timeframe in Timeframe:
            data.candles(symbol, timeframe, NOW - timedelta(days=400), NOW)
    print(
        f"synthetic candles (30 coins x 6 timeframes, not timed below): {time.perf_counter() - began:.1f} s"
    )
    markets = kernel_throughput(data, config)
    vectorbt_comparison(markets)
    pipeline(config, data)


if __name__ == "__main__":
    main()
