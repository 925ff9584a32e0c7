"""Research gates (spec section 12): what they let through on markets whose truth is known, and
what they cost per strategy.

Run: ``.venv/bin/python bench/research_gates.py [strategies]``. Prints, for a batch of generated
strategies on a pure random walk, how many were backtested, how many scored enough to enter the
pool, what retired them and how many were admitted; then the planted-edge strategy's score,
deflated Sharpe and p-value; then the time of the search and of the gates per strategy. Small
windows (3 coins, 40 + 10 days; the planted edge on 20 + 5 days) so that it runs in minutes on a
shared machine. Nothing here asserts.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from dependency_injector import providers
from tests.e2e.test_research_gates import NOW, PLANTED_REVERSAL, environment

from sixbtc import config as configuration
from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.containers import build, use_cases
from sixbtc.domain.strategy import Status

GATES = ("min_trades_training", "min_trades_holdout", "deflated_sharpe", "permutation")


def container_for(mode: str, timeframes: str, days: tuple[int, int]):
    directory = Path(tempfile.mkdtemp())
    settings = configuration.load(None, environ=environment(directory, mode, timeframes, days))
    migrations.upgrade(settings.database.url)
    container = build(settings)
    container.clock.override(providers.Object(ManualClock(NOW)))
    return container


def timed_gates(backtester, strategy_id, code) -> tuple[float, float, str | None, object]:
    """Seconds of the search, seconds of the gates, the gates' verdict and the result."""
    start = time.perf_counter()
    search = backtester._search(strategy_id, code, NOW)
    searched = time.perf_counter()
    problem = backtester._research_problem(strategy_id, code, search)
    return searched - start, time.perf_counter() - searched, problem, search


def random_walk(strategies: int) -> None:
    container = container_for("random_walk", "[5m, 15m, 30m, 1h, 4h, 1d]", (40, 10))
    pipeline = use_cases(container)
    started = time.perf_counter()
    report = pipeline.pipeline_pass().run(strategies=strategies)
    elapsed = time.perf_counter() - started
    reasons: Counter[str] = Counter()
    entered = 0
    with container.unit_of_work() as uow:
        for strategy in uow.strategies.by_status(Status.RETIRED):
            reason = (strategy.retired_reason or "").split(":")[0]
            reasons[reason] += 1
            entered += reason in GATES
    backtested = len(report.backtests)
    admitted = report.statuses[Status.ACTIVE] + report.statuses[Status.LIVE]
    print(f"random walk: {strategies} generated, {backtested} backtested in {elapsed:.0f} s")
    print(f"  scored >= entry before the gates: {entered}")
    print(f"  retired by: {dict(reasons.most_common())}")
    print(
        f"  admitted: {admitted} ({admitted / max(backtested, 1):.1%}), LIVE: "
        f"{report.statuses[Status.LIVE]}"
    )
    container.shutdown_resources()


def planted_edge() -> None:
    container = container_for("planted_edge", "[5m, 15m, 1h]", (20, 5))
    strategy = container.add_strategy()(PLANTED_REVERSAL, name="planted_reversal")
    backtester = use_cases(container).backtester()
    search_s, gates_s, problem, search = timed_gates(backtester, strategy.id, PLANTED_REVERSAL)
    deflated = backtester._deflated_sharpe(search)
    gates = backtester.settings.robustness
    p_value = backtester._permutation_p_value(strategy.id, PLANTED_REVERSAL, search, 20)
    result = search.result
    print(f"planted edge: score {result.score:.1f} on {result.timeframe} {result.parameters}")
    print(
        f"  trades {result.training.trades} + {result.holdout.trades}, deflated Sharpe "
        f"{deflated.value:.3f} (sharpe/bar {deflated.moments.sharpe:.3f} vs expected max "
        f"{deflated.benchmark:.3f}, {deflated.trials} trials), permutation p {p_value:.3f} "
        f"({gates.permutations} permutations); verdict: {problem or 'passes every gate'}"
    )
    print(
        f"  time per strategy: search {search_s:.2f} s, gates {gates_s:.2f} s "
        f"({gates_s / search_s:.0%} of the search; 3 coins, 20 + 5 days)"
    )
    container.shutdown_resources()


if __name__ == "__main__":
    planted_edge()
    random_walk(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
