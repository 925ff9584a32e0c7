"""What the sandbox costs: a backtest's signal requests and a switch between strategies.

Usage: ``.venv/bin/python bench/sandbox.py [COINS]``. Prints, for one generated strategy, the time
of the requests one backtest makes (COINS coins, default 30, times six timeframes of 395 days) in the
sandbox and in this process without any isolation, then the cost of switching a worker from one
strategy to another (a fresh fork for each switch) against repeated requests for one strategy, and
the start of a whole worker (what a switch would cost with one exec'd worker per strategy).
Nothing here asserts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from sixbtc.adapters.generator import CatalogueStrategySource
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.adapters.sandbox.runtime import COLUMNS, StrategyRuntime
from sixbtc.application.validate import random_walk
from sixbtc.domain.candles import Candles

DAYS = 395
BARS_PER_DAY = {"5m": 288, "15m": 96, "30m": 48, "1h": 24, "4h": 6, "1d": 1}


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _in_process(runtime: StrategyRuntime, code: str, candles: Candles) -> None:
    runtime.signals(code, {name: getattr(candles, name) for name in COLUMNS})


def backtest_requests(coins: int, code: str) -> None:
    markets = [
        random_walk(DAYS * per_day, seed=coin)
        for per_day in BARS_PER_DAY.values()
        for coin in range(coins)
    ]
    bars = sum(len(m) for m in markets)
    runtime = StrategyRuntime()
    direct = _seconds(lambda: [_in_process(runtime, code, m) for m in markets])
    with SandboxSignalSource(workers=1) as sandbox:
        sandbox.signals(code, markets[-1])  # start the worker outside the timing
        boxed = _seconds(lambda: [sandbox.signals(code, m) for m in markets])
    print(f"backtest: {len(markets)} requests, {bars / 1e6:.1f} M bars")
    print(f"  in this process, no isolation: {direct:.2f} s")
    print(f"  sandbox (one worker):          {boxed:.2f} s ({boxed / direct:.2f}x)")


def worker_start(rounds: int = 3) -> None:
    """What a switch would cost if every strategy had a worker of its own, started with exec."""
    started = 0.0
    for _ in range(rounds):
        with SandboxSignalSource(workers=1) as sandbox:
            started += _seconds(sandbox.layers)
    print(f"starting a worker (exec, imports, lock-down): {started / rounds:.2f} s")


def switches(codes: list[str], rounds: int = 60) -> None:
    candles = random_walk(2000, seed=1)
    with SandboxSignalSource(workers=1) as sandbox:
        sandbox.signals(codes[0], candles)
        same = _seconds(lambda: [sandbox.signals(codes[0], candles) for _ in range(rounds)])
        other = _seconds(
            lambda: [sandbox.signals(codes[i % len(codes)], candles) for i in range(rounds)]
        )
    print(f"requests on 2,000 bars, {rounds} each way:")
    print(f"  same strategy:               {same / rounds * 1000:.1f} ms per request")
    print(f"  a new strategy each request: {other / rounds * 1000:.1f} ms per request")
    print(f"  cost of a switch (one fork): {(other - same) / rounds * 1000:.1f} ms")


def main(coins: int) -> None:
    codes = [draft.code for draft in CatalogueStrategySource(seed=7).propose(2)]
    worker_start()
    switches(codes)
    backtest_requests(coins, codes[0])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
