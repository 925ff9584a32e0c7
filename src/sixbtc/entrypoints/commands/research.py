"""``sixbtc research``: the factory, offline, on a market whose truth is known."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import attrs
from rich.console import Console
from rich.table import Table

from sixbtc import config as configuration
from sixbtc.config import Config
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.console import bounded
from sixbtc.entrypoints.output import live_line, print_json

#: ``--market`` -> the synthetic mode and what it holds (adapters/market/synthetic.py).
MARKETS = {
    "null": (
        "null",
        "clustered volatility, fat tails, a common factor; nothing predictable: every strategy "
        "that enters the pool is a false discovery",
    ),
    "mean-reversion": (
        "planted_edge",
        "a planted 5m reversal: after three bars the same way the next six drift back; "
        "reversal (REV) strategies should enter and lead",
    ),
    "momentum": (
        "momentum",
        "the null market plus a modest hourly trend (hourly returns' lag-1 autocorrelation about "
        "0.05, about 0.5% a trade after costs for a reference trend follower); trend, breakout, "
        "momentum and directional-volume (MOM, TRN, BRK, VOL) strategies should enter and lead",
    ),
}

#: Research markets end here (00:00 UTC), whatever the date: a seed always gives the same market.
MARKET_END = "2026-01-01"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "research",
        help="run the factory offline on a market whose truth is known; print what the gates did",
        description="Generate strategies and take each through validation, the backtest, the "
        "research gates and the pool, on a synthetic market whose truth is known, in a fresh "
        "database (a temporary file unless --database is given); then print the funnel, each "
        "gate's rejections with their figures, the pool by strategy type, what would go LIVE and "
        "where the time went. Markets: "
        + "; ".join(f"{k}: {v[1]}" for k, v in MARKETS.items())
        + ". Everything else (grid, scoring, gates, pool) is the configuration's; "
        "--coins, --timeframes, --training-days and --holdout-days scale a run down.",
    )
    parser.add_argument("--market", choices=tuple(MARKETS), default="null", help="default: null")
    parser.add_argument(
        "--strategies",
        type=bounded(int, 1),
        default=200,
        metavar="N",
        help="strategies to generate (default: 200)",
    )
    parser.add_argument(
        "--seed",
        type=bounded(int, 1),
        default=1,
        metavar="S",
        help="seed of the strategy generator and of the market (default: 1)",
    )
    parser.add_argument("--coins", type=bounded(int, 1), metavar="N", help="coins per backtest")
    parser.add_argument(
        "--timeframes", metavar="LIST", help="comma-separated timeframes, e.g. 5m,15m,1h"
    )
    parser.add_argument("--training-days", type=bounded(int, 1), metavar="DAYS")
    parser.add_argument("--holdout-days", type=bounded(int, 1), metavar="DAYS")
    parser.add_argument(
        "--database",
        metavar="FILE",
        help="keep the run in this new SQLite file (refused if it exists) to inspect it with "
        "`sixbtc strategy list` and `sixbtc report`; default: a temporary file, removed",
    )
    parser.add_argument("--top", type=bounded(int, 1), default=10, metavar="N", help="pool rows")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run)


def research_config(base: Config, args: argparse.Namespace, database: Path) -> Config:
    """``base`` on the research market, seed and scale, with its own database."""
    backtester = base.backtester
    changes = {
        "window_end": MARKET_END,
        "coins": args.coins or backtester.coins,
        "training_days": args.training_days or backtester.training_days,
        "holdout_days": args.holdout_days or backtester.holdout_days,
    }
    if args.timeframes:
        changes["timeframes"] = tuple(t.strip() for t in args.timeframes.split(",") if t.strip())
    limits = base.pipeline.queue_limits
    return attrs.evolve(
        base,
        database=attrs.evolve(base.database, url=f"sqlite:///{database}"),
        market_data=attrs.evolve(
            base.market_data,
            source="synthetic",
            synthetic_mode=MARKETS[args.market][0],
            seed=args.seed,
            synthetic_end=MARKET_END,
        ),
        generator=attrs.evolve(base.generator, seed=args.seed),
        backtester=_evolved("backtester", backtester, changes),
        pipeline=attrs.evolve(
            base.pipeline,
            queue_limits=attrs.evolve(limits, generated=max(limits.generated, args.strategies)),
        ),
    )


def _evolved(section: str, value, changes: dict):
    try:
        return attrs.evolve(value, **changes)
    except (configuration.ConfigError, ValueError) as error:
        raise configuration.ConfigError(f"{section}.{error}") from None


def run(args: argparse.Namespace) -> int:
    base = configuration.load(args.config)
    if args.database and Path(args.database).exists():
        raise configuration.ConfigError(
            f"--database {args.database}: exists; expected a new file (research starts empty)"
        )
    with tempfile.TemporaryDirectory(prefix="sixbtc-research-") as scratch:
        database = Path(args.database) if args.database else Path(scratch) / "research.db"
        settings = research_config(base, args, database)
        report, seconds = research(settings, args.strategies, quiet=args.json)
    if args.json:
        print_json({"market": args.market, "seed": args.seed, "seconds": seconds, **_json(report)})
    else:
        print_report(settings, args, report, seconds)
        if args.database:
            print(
                f"\nkept in {database}: SIXBTC_DATABASE__URL=sqlite:///{database} "
                "sixbtc strategy list"
            )
    return 0


def research(settings: Config, strategies: int, quiet: bool = True):
    """A research pass of ``strategies`` on ``settings`` (see :func:`research_config`) and its wall
    seconds; ``quiet``: no progress on stderr."""
    container = wiring.container(settings)
    started = time.monotonic()
    try:
        container.schema().upgrade()
        research = wiring.use_cases(container).research()
        console = Console(stderr=True, quiet=quiet)
        with live_line(console) as (say, stage):
            report = research.run(strategies, progress=say, stage=stage)
    finally:
        container.shutdown_resources()
    return report, time.monotonic() - started


def _json(report) -> dict:
    passed = report.passed
    return {
        "generated": passed.generated,
        "validated": passed.validated,
        "retired_by_validator": passed.retired_by_validator,
        "backtested": len(passed.backtests),
        "candidates": report.candidates,
        "entered": len(report.entered),
        "would_go_live": [s.name for s in passed.live_candidates],
        "rejections": {
            str(r.gate): [
                {"name": s.name, "score": s.score_backtest, "reason": str(s.retired_reason)}
                for s in r.strategies
            ]
            for r in report.rejections
        },
        "pool": [
            {
                "name": s.name,
                "type": s.strategy_type,
                "timeframe": s.timeframe,
                "score": s.score_backtest,
            }
            for s in report.entered
        ],
        "pool_types": report.pool_types,
        "retired_reasons": passed.retired_reasons,
        "step_seconds": passed.seconds,
        "backtest_seconds": report.spent,
        "gate_share": report.gate_share,
    }


def print_report(settings: Config, args: argparse.Namespace, report, seconds: float) -> None:
    """The funnel, each gate's rejections, the pool and the time, as text."""
    console = Console()
    passed = report.passed
    bt = settings.backtester
    console.print(
        f"research: market {args.market} ({MARKETS[args.market][1]}); seed {args.seed}; "
        f"{bt.coins} coins, {', '.join(bt.timeframes)}, {bt.training_days} + {bt.holdout_days} "
        f"days to {MARKET_END}",
        soft_wrap=True,
    )
    live = passed.live_candidates
    console.print(
        f"funnel: generated {passed.generated}, validated {passed.validated} (validator retired "
        f"{passed.retired_by_validator}), backtested {len(passed.backtests)}, scored enough to "
        f"enter {report.candidates}, entered ACTIVE {len(report.entered)}, would go LIVE "
        f"{len(live)}",
        soft_wrap=True,
    )
    console.print(
        "retired by reason: " + ", ".join(f"{r} {n}" for r, n in passed.retired_reasons.items()),
        soft_wrap=True,
    )
    gates = Table(title="research gates (cheapest first): rejections, best score first")
    for column in ("gate", "rejected", "best rejected: name, score, figures"):
        gates.add_column(column)
    for rejection in report.rejections:
        best = rejection.strategies[:3]
        gates.add_row(
            str(rejection.gate),
            str(len(rejection.strategies)),
            "\n".join(f"{s.name} {s.score_backtest:.1f}: {s.retired_reason.figures}" for s in best)
            or "-",
        )
    console.print(gates)
    types = ", ".join(f"{t} {n}" for t, n in report.pool_types.items()) or "empty"
    pool = Table(title=f"pool by type: {types}")
    for column in ("#", "score", "type", "tf", "name"):
        pool.add_column(column)
    for rank, strategy in enumerate(report.entered[: args.top], start=1):
        pool.add_row(
            str(rank),
            f"{strategy.score_backtest:.2f}",
            strategy.strategy_type,
            str(strategy.timeframe),
            strategy.name,
        )
    console.print(pool)
    console.print(
        "would go LIVE: "
        + (", ".join(f"{s.name} ({s.score_backtest:.1f})" for s in live) or "none")
    )
    steps = passed.seconds
    spent = report.spent
    count = max(len(passed.backtests), 1)
    console.print(
        f"time: {seconds:.0f} s wall (validate {steps.get('validate', 0):.0f} s, backtest "
        f"{steps.get('backtest', 0):.0f} s); per backtested strategy {seconds / count:.2f} s; "
        f"gates {spent.get('gates', 0):.1f} s in all, {report.gate_share:.1%} of the pass",
        soft_wrap=True,
    )
