"""Strategies per hour, end to end: from GENERATED to a pool decision, with the default settings.

Run: ``.venv/bin/python bench/pipeline.py [--strategies N] [--market M] [--seed S] [--coins N]``.
One pass of the factory (``sixbtc research``'s: generate, validate, backtest every timeframe and
combination, the research gates, the pool) in a fresh SQLite file on a synthetic market, by default
the mean-reversion one, where some candidates reach the gates. Prints the strategies per hour
against the goal (5,000 on 2 cores), then where the wall time went, by stage: validation; then in
the backtests market data, signals (the sandbox), simulation (the numba engine) and the trade bands,
separately for the search and for the gates (the permuted markets counted on their own); the
rest (the database, the pool, the process's own work) is the difference. The pass runs its steps one after another, as ``sixbtc pipeline`` does (the services
of ``sixbtc run`` overlap them). CPU seconds of this process and of its children (the sandbox)
stand next to the wall seconds. The market is built before the clock starts. Nothing here asserts.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

from sixbtc.adapters.engine import NumbaBacktestEngine
from sixbtc.adapters.market.synthetic import SyntheticMarketData
from sixbtc.application import gates
from sixbtc.application.gates import ResearchGates
from sixbtc.application.markets import StrategyMarkets
from sixbtc.application.validate import ValidateStrategies
from sixbtc.config import load
from sixbtc.domain.candles import from_ms
from sixbtc.domain.sensitivity import TradeBands
from sixbtc.domain.timeframe import Timeframe
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.commands.research import MARKETS, research_config

GOAL_PER_HOUR = 5_000
#: Where each stage's seconds go while the gates run, and otherwise.
IN_GATES, IN_SEARCH = "gates", "search"


class Stopwatch:
    """Wall seconds of wrapped calls, by stage and by phase (inside the gates or not)."""

    def __init__(self) -> None:
        self.seconds: Counter[tuple[str, str]] = Counter()
        self.calls: Counter[tuple[str, str]] = Counter()
        self.phase = IN_SEARCH

    def wrap(self, owner: object, name: str, stage: str) -> None:
        """Time every call of ``owner.name`` as ``stage``."""
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[self.phase, stage] += time.perf_counter() - started
                self.calls[self.phase, stage] += 1

        setattr(owner, name, timed)

    def phase_of(self, owner: object, name: str, phase: str) -> None:
        """Count what ``owner.name`` does, and its own wall seconds, in ``phase``."""
        inner = getattr(owner, name)

        @functools.wraps(inner)
        def within(*args, **kwargs):
            self.phase = phase
            started = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[phase, "all"] += time.perf_counter() - started
                self.phase = IN_SEARCH

        setattr(owner, name, within)


def instrument() -> Stopwatch:
    watch = Stopwatch()
    watch.wrap(ValidateStrategies, "run", "validation")
    watch.wrap(SyntheticMarketData, "candles", "market data")
    watch.wrap(StrategyMarkets, "signals", "signals (sandbox)")
    watch.wrap(NumbaBacktestEngine, "sweep", "simulation")
    watch.wrap(NumbaBacktestEngine, "run", "simulation")
    watch.wrap(gates, "permuted_candles", "permuting markets")
    watch.wrap(TradeBands, "of", "trade bands")
    watch.phase_of(ResearchGates, "verdict", IN_GATES)
    return watch


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process and of its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strategies", type=int, default=40)
    parser.add_argument("--market", choices=tuple(MARKETS), default="mean-reversion")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--coins", type=int, default=None, help="default: the configuration's")
    args = parser.parse_args()
    args.timeframes = args.training_days = args.holdout_days = None
    with tempfile.TemporaryDirectory(prefix="sixbtc-bench-") as scratch:
        settings = research_config(load(None), args, Path(scratch) / "bench.db")
        run(settings, args)


def run(settings, args) -> None:
    console = Console()
    container = wiring.container(settings)
    try:
        container.schema().upgrade()
        research = wiring.use_cases(container).research()
        began = time.perf_counter()
        market = container.market_data()
        end = from_ms(market.end_ms)
        start = end - timedelta(days=settings.backtester.training_days + 60)
        for symbol in market.symbols()[: settings.backtester.coins]:
            for timeframe in settings.backtester.timeframes:
                market.candles(symbol, Timeframe(timeframe), start, end)
        console.print(f"market built (not timed below): {time.perf_counter() - began:.0f} s")
        watch = instrument()
        own, children = cpu_seconds()
        began = time.perf_counter()
        report = research.run(args.strategies)
        wall = time.perf_counter() - began
    finally:
        container.shutdown_resources()  # the sandbox's workers end: their CPU is counted
    own_after, children_after = cpu_seconds()
    passed = report.passed
    bt = settings.backtester
    console.print(
        f"pipeline: market {args.market}, seed {args.seed}; {bt.coins} coins, "
        f"{', '.join(bt.timeframes)}, {bt.training_days} + {bt.holdout_days} days; "
        f"{len(settings.parameter_grid())} combinations; {settings.robustness.permutations} "
        "permutations at most",
        soft_wrap=True,
    )
    console.print(
        f"funnel: generated {passed.generated}, validated {passed.validated}, backtested "
        f"{len(passed.backtests)}, met the gates {report.candidates}, entered "
        f"{len(report.entered)}",
        soft_wrap=True,
    )
    per_hour = passed.generated / wall * 3600
    console.print(
        f"[bold]{per_hour:,.0f} strategies an hour[/] ({passed.generated} in {wall:.1f} s wall; "
        f"CPU {own_after - own:.1f} s here + {children_after - children:.1f} s in the sandbox); "
        f"goal {GOAL_PER_HOUR:,}: {per_hour / GOAL_PER_HOUR:.2f}x the goal",
        soft_wrap=True,
    )
    console.print(stage_table(watch, wall, passed.generated))
    console.print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")


def stage_table(watch: Stopwatch, wall: float, strategies: int) -> Table:
    table = Table(title="where the wall time went")
    for column in ("stage", "calls", "seconds", "share", "per strategy"):
        table.add_column(column, justify="right" if column != "stage" else "left")
    timed = 0.0
    for (phase, stage), seconds in sorted(watch.seconds.items()):
        if stage == "all":
            continue
        timed += seconds
        label = f"{stage}, in the gates" if phase == IN_GATES and stage != "validation" else stage
        table.add_row(
            label,
            str(watch.calls[phase, stage]),
            f"{seconds:.1f}",
            f"{seconds / wall:.1%}",
            f"{seconds / max(strategies, 1) * 1000:.0f} ms",
        )
    gates_all = watch.seconds[IN_GATES, "all"]
    table.add_row("(the gates in all)", "", f"{gates_all:.1f}", f"{gates_all / wall:.1%}", "")
    rest = wall - timed
    table.add_row(
        "database, pool and the rest",
        "",
        f"{rest:.1f}",
        f"{rest / wall:.1%}",
        f"{rest / max(strategies, 1) * 1000:.0f} ms",
    )
    return table


if __name__ == "__main__":
    main()
