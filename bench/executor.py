"""Executor latency: from a candle's close to every order placed, for 10 LIVE strategies x 30 coins
on the paper exchange, on a SQLite file (the default database), signals from generated strategies
through the sandbox on the last ``--history`` candles (``validator.live_history_bars``: 5000).

Each pass runs at the close of a 5m candle (a ManualClock), as the executor service does: the
exchange fills on the new candle, fills and trades are recorded, signals computed, orders recorded
then sent. Printed: p50, p99 and max of the pass's wall time, CPU time next to it, and the share
spent computing signals (the sandbox) versus everything else. Goal (issue 17): p99 < 1 s on 2
cores. Nothing here asserts.

    .venv/bin/python bench/executor.py [--candles 60] [--strategies 10] [--history 5000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.generator.sources import CatalogueStrategySource
from sixbtc.adapters.market.synthetic import COINS, SyntheticMarketData
from sixbtc.adapters.paper import PaperExchange
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.adapters.sqlalchemy.paper import SqlAlchemyPaperStore
from sixbtc.application.executor import Executor
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.candles import Candles
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.timeframe import Timeframe

END = datetime(2026, 6, 1, tzinfo=UTC)
CAPITAL = 1000.0


class TimedSignals:
    """The sandbox, with the wall time spent in it per pass (requests overlap: the span from the
    first request's start to the last one's end)."""

    def __init__(self, source: SandboxSignalSource) -> None:
        self.source = source
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.first: float | None = None
        self.last = 0.0

    def signals(self, code: str, candles: Candles, *, fresh: bool = False) -> np.ndarray:
        start = time.perf_counter()
        try:
            return self.source.signals(code, candles)
        finally:
            with self.lock:
                self.first = start if self.first is None else min(self.first, start)
                self.last = max(self.last, time.perf_counter())

    @property
    def span(self) -> float:
        return 0.0 if self.first is None else self.last - self.first


def deploy(uow_factory, exchange: PaperExchange, count: int) -> None:
    drafts = CatalogueStrategySource(seed=11).propose(count)
    with uow_factory() as uow:
        for n, draft in enumerate(drafts, start=1):
            strategy = Strategy(draft.name, draft.code, draft.strategy_type, END)
            strategy.status = Status.LIVE
            strategy.timeframe = Timeframe.M5
            strategy.execution = ExecutionParameters(0.02, 0.03, 2.0, 24)
            strategy.coins = COINS
            uow.strategies.add(strategy)
            account = Subaccount(n, END)
            account.assign(strategy.id, CAPITAL)
            uow.subaccounts.add(account)
        uow.commit()
    for n in range(1, count + 1):
        exchange.transfer(n, CAPITAL, f"fund-{n}")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candles", type=int, default=60)
    parser.add_argument("--strategies", type=int, default=10)
    parser.add_argument("--history", type=int, default=5000)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="sixbtc-bench-executor-"))
    url = f"sqlite:///{work / 'bench.db'}"
    migrations.upgrade(url)
    engine = create_engine(url)
    market = SyntheticMarketData(END, seed=5, days=30, coins=COINS)
    step = Timeframe.M5.duration
    first_close = END - args.candles * step
    clock = ManualClock(first_close)
    exchange = PaperExchange(
        Costs(), SqlAlchemyPaperStore(engine), initial_capital=CAPITAL * args.strategies
    )
    uow_factory = lambda: SqlAlchemyUnitOfWork(engine)  # noqa: E731
    deploy(uow_factory, exchange, args.strategies)
    workers = os.cpu_count() or 1
    with SandboxSignalSource(workers=workers) as sandbox:
        signals = TimedSignals(sandbox)
        executor = Executor(
            uow_factory, exchange, market, signals, clock, args.history, concurrency=workers
        )
        executor.tick()  # warm up: the sandbox's fork servers and the market's first candles
        walls, cpus, spans, orders, fills = [], [], [], 0, 0
        for n in range(1, args.candles + 1):
            clock.set(first_close + n * step)
            signals.reset()
            wall, cpu = time.perf_counter(), time.process_time()
            done = executor.tick()
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
            spans.append(signals.span)
            orders, fills = orders + done.orders, fills + done.fills
            assert done.handled == args.strategies, done
    engine.dispose()
    print(
        f"executor: {args.strategies} LIVE strategies x {len(COINS)} coins, 5m, "
        f"{args.history} candles of history each, paper exchange on SQLite, sandbox "
        f"{workers} workers; {args.candles} candles"
    )
    print(f"  orders sent {orders}, fills recorded {fills}")
    for label, values in (("pass wall", walls), ("  signals (sandbox)", spans)):
        print(
            f"  {label:<20} p50 {percentile(values, 50):6.3f} s  p99 {percentile(values, 99):6.3f} s"
            f"  max {max(values):6.3f} s"
        )
    rest = [w - s for w, s in zip(walls, spans, strict=True)]
    print(
        f"  {'  everything else':<20} p50 {percentile(rest, 50):6.3f} s  "
        f"p99 {percentile(rest, 99):6.3f} s  max {max(rest):6.3f} s"
    )
    print(
        f"  this process's CPU per pass p50 {percentile(cpus, 50):.3f} s (sandbox processes not "
        "counted)"
    )
    p99 = percentile(walls, 99)
    print(f"  goal p99 < 1 s: {'met' if p99 < 1 else 'missed'} ({p99:.3f} s, {p99:.2f}x the goal)")


if __name__ == "__main__":
    main()
