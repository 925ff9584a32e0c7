"""``sixbtc pipeline``: one pass of the factory on the configured adapters, with a report."""

from __future__ import annotations

import argparse
import time

from rich.console import Console

from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.application.pipeline import PassReport
from sixbtc.domain.strategy import Status
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.console import bounded
from sixbtc.entrypoints.output import live_line


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "pipeline",
        help="run one pass: generate, validate, backtest, rank; print the leaderboard",
        description="One pass of the factory on the configured adapters (by default a SQLite file, "
        "a deterministic synthetic market and no exchange): upgrade or create the database, "
        "maintain the ACTIVE pool, generate strategies, validate every GENERATED one, backtest "
        "every VALIDATED one (6 timeframes x 30 coins x 300 combinations) and every due "
        "re-backtest, then print the funnel, the leaderboard and the strategies the rotator "
        "would deploy. Running it again continues from the database.",
    )
    parser.add_argument(
        "--strategies",
        type=bounded(int, 1),
        default=20,
        metavar="N",
        help="strategies to generate in this pass (default: 20; the generator also respects "
        "pipeline.queue_limits.generated)",
    )
    parser.add_argument(
        "--top", type=bounded(int, 1), default=20, metavar="N", help="leaderboard rows to print"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    container = wiring.container(args.config)
    started = time.monotonic()
    try:
        _check_market_data(container)
        schema = container.schema()
        print(f"database {schema.shown_url}: upgrading to the latest schema", flush=True)
        schema.upgrade()
        report = _run_pass(wiring.use_cases(container).pipeline_pass(), args.strategies)
    finally:
        container.shutdown_resources()
    print_report(report, args.top, time.monotonic() - started)
    return 0


def _run_pass(pipeline_pass, strategies: int) -> PassReport:
    """The pass with its results printed as they come and, on a terminal, a live line below
    them: the stage under way and the time elapsed."""
    with live_line(Console()) as (say, stage):
        return pipeline_pass.run(strategies, progress=say, stage=stage)


def _check_market_data(container) -> None:
    """Refuse at once a market that serves no coin (say, an empty cache) rather than defer every
    strategy of the pass."""
    if container.market_data().symbols():
        return
    settings = container.config().market_data
    raise MarketDataUnavailable(
        f"market_data.source {settings.source}: no coin to backtest (no candles of "
        f"{settings.exchange} in {settings.cache_dir}); get history with `sixbtc data download` "
        "or `sixbtc data import FILE...`, or use market_data.source: synthetic"
    )


def print_report(report: PassReport, top: int, seconds: float) -> None:
    """The funnel, the leaderboard and the rotator's picks, as plain text."""
    print(f"\npass finished in {seconds:.1f} s")
    print("funnel: " + ", ".join(f"{status} {report.statuses[status]}" for status in Status))
    if report.retired_reasons:
        reasons = ", ".join(f"{reason} {count}" for reason, count in report.retired_reasons.items())
        print(f"retired by reason: {reasons}")
    print(
        f"\nACTIVE leaderboard (top {min(top, len(report.leaderboard))} of "
        f"{len(report.leaderboard)}):"
    )
    print(
        f"{'#':>3} {'score':>6}  {'type':<4} {'tf':<4} {'sl':>5} {'tp':>5} {'lev':>4} "
        f"{'hold':>4}  name"
    )
    for rank, strategy in enumerate(report.leaderboard[:top], start=1):
        p = strategy.execution
        score = "-" if strategy.score_backtest is None else f"{strategy.score_backtest:.2f}"
        chosen = (
            f"{p.stop_loss:>5g} {p.take_profit:>5g} {p.leverage:>4g} {p.max_hold_bars:>4}"
            if p
            else f"{'-':>5} {'-':>5} {'-':>4} {'-':>4}"
        )
        print(
            f"{rank:>3} {score:>6}  {strategy.strategy_type:<4} "
            f"{strategy.timeframe or '-':<4} {chosen}  {strategy.name}"
        )
    if report.deferred:
        print(
            f"\nwaiting after failures of ours (not theirs; retried later): {len(report.deferred)}"
        )
        for strategy, failure in report.deferred[:top]:
            print(
                f"  {strategy.name} {strategy.status}: {failure.count} in a row, last "
                f"{failure.error}; next try after {failure.retry_after:%Y-%m-%d %H:%M} UTC"
            )
    picks = ", ".join(f"{s.name} ({s.score_backtest:.1f})" for s in report.live_candidates)
    print(f"\nrotator would deploy (score >= min_score_live, diversified): {picks or 'none yet'}")
