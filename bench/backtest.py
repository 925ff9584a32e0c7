"""Backtest speed: kernel throughput, the full initial backtest of one strategy, one re-backtest.

Run: ``.venv/bin/python bench/backtest.py``. Prints figures against the goals of issue 5; nothing
here asserts. The vectorbt comparison of issue 5 is not written yet: the script says so.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import numba
import numpy as np

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.engine import NumbaBacktestEngine
from sixbtc.adapters.market.synthetic import SyntheticMarketData
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.backtest import Backtester, BacktestSettings
from sixbtc.application.pool import PoolRules
from sixbtc.application.ports import Market
from sixbtc.config import Config
from sixbtc.domain.candles import Candles
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe

NOW = datetime(2026, 6, 1, tzinfo=UTC)
COINS = 30


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
    cores = numba.config.NUMBA_NUM_THREADS
    for workers in sorted({1, cores}):
        engine = NumbaBacktestEngine(workers=workers)
        engine.sweep(markets[:1], combinations[:2], config.costs())  # compile or load the cache
        began, cpu_began = time.perf_counter(), time.process_time()
        metrics = engine.sweep(markets, combinations, config.costs())
        elapsed, cpu = time.perf_counter() - began, time.process_time() - cpu_began
        print(
            f"kernel, {workers} worker(s): {len(markets)} coins x {len(markets[0].candles)} 5m bars "
            f"x {len(combinations)} combinations in {elapsed:.2f} s = "
            f"{bar_combinations / elapsed / workers / 1e6:,.0f} M bar-combinations/s per core "
            f"(goal >= 500 M); by CPU time {bar_combinations / cpu / 1e6:,.0f} M per core-second; "
            f"{sum(m.trades for m in metrics):,} trades"
        )
    return markets


def pipeline(config: Config, data: SyntheticMarketData) -> None:
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
    )
    backtester = Backtester(
        InMemoryUnitOfWork(store),
        data,
        NumpySignalSource(),
        NumbaBacktestEngine(config.backtester.workers),
        clock,
        settings,
    )
    new = Strategy(name="ma_cross", code="ma_cross", strategy_type="TRN", created_at=NOW)
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
            code=f"ma_cross {timeframe}",
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
    kernel_throughput(data, config)
    print("vectorbt comparison: not implemented; skipped")
    pipeline(config, data)


if __name__ == "__main__":
    main()
