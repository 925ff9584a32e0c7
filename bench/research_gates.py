"""Research gates on markets whose truth is known: the table of ``sixbtc research`` runs.

Run: ``.venv/bin/python bench/research_gates.py [--markets null,momentum,mean-reversion]
[--seeds 1,2,3] [--strategies 60] [--coins 10]``. For each market and seed, a research pass in a
fresh temporary database (every timeframe, a year of training, the configured grid, gates and
pool), then one row: strategies, backtested, candidates (scored enough to enter, so met the gates),
entered ACTIVE, would go LIVE, each gate's rejections, the pool's types, wall and CPU seconds (the
sandbox's processes included) and the gates' share of the pass. Nothing here asserts; the
acceptance checks are in tests/e2e/test_research_command.py.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from sixbtc import config as configuration
from sixbtc.application.research import GATES
from sixbtc.entrypoints.commands.research import MARKETS, research, research_config


def cpu_seconds() -> float:
    """CPU seconds of this process and of its children that have ended (the sandbox's workers end
    with each pass)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def row(market: str, seed: int, strategies: int, coins: int) -> str:
    options = argparse.Namespace(
        market=market,
        seed=seed,
        strategies=strategies,
        coins=coins,
        timeframes=None,
        training_days=None,
        holdout_days=None,
    )
    with tempfile.TemporaryDirectory() as scratch:
        settings = research_config(configuration.load(None), options, Path(scratch) / "r.db")
        cpu = cpu_seconds()
        started = time.perf_counter()
        report, _ = research(settings, strategies)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    passed = report.passed
    rejected = {r.gate: len(r.strategies) for r in report.rejections}
    types = " ".join(f"{t}:{n}" for t, n in report.pool_types.items()) or "-"
    return (
        f"{market:<14} {seed:>4} {strategies:>5} {len(passed.backtests):>5} "
        f"{report.candidates:>5} {len(report.entered):>5} {len(passed.live_candidates):>4} "
        + " ".join(f"{rejected[gate]:>5}" for gate in GATES)
        + f" {wall:>7.0f} {cpu:>7.0f} {report.gate_share:>6.1%}  {types}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", default=",".join(MARKETS))
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--strategies", type=int, default=60)
    parser.add_argument("--coins", type=int, default=10)
    args = parser.parse_args()
    print(
        f"{'market':<14} {'seed':>4} {'gen':>5} {'bt':>5} {'cand':>5} {'in':>5} {'live':>4} "
        + " ".join(f"{name:>5}" for name in ("mintr", "minho", "dsr", "perm"))
        + f" {'wall s':>7} {'cpu s':>7} {'gates':>6}  pool types",
        flush=True,
    )
    for market in args.markets.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            print(row(market, seed, args.strategies, args.coins), flush=True)


if __name__ == "__main__":
    main()
