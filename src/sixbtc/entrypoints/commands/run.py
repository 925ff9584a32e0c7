"""``sixbtc run``: the whole factory in one process (every service's loops on one runner), on a
simulated clock that runs market time fast, with a live view of the funnel, the pool, the LIVE
slots and the latest decisions."""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import attrs
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from sixbtc import config as configuration
from sixbtc.domain.reasons import NOT_RECORDED
from sixbtc.domain.strategy import Status
from sixbtc.entrypoints import services, wiring
from sixbtc.entrypoints.console import bounded
from sixbtc.entrypoints.runner import Loop, ServiceRunner

#: Market seconds per wall second by default: six hours of market a minute.
SPEED = 360.0
EDGES = {
    "planted_edge": "a planted reversal: after three 5m bars the same way, the next six drift "
    "back (findable); from the day after today it runs backwards for three hours, then holds "
    "for three, and so on, so live strategies meet hours that go against them "
    "(sixbtc/adapters/market/synthetic.py)",
    "realistic": "clustered volatility, fat tails, regimes; no edge planted",
    "null": "clustered volatility, fat tails, a common factor; nothing predictable",
    "momentum": "a modest hourly trend (hourly returns' lag-1 autocorrelation about 0.07)",
    "random_walk": "a pure random walk: nothing to find, nothing should reach LIVE",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the whole factory in one process on a fast simulated clock, with a live view",
        description="Every service (generator, validator, backtester, executor, scorer, rotator, "
        "monitor) in one process on the configured database (upgraded first) and market, with a "
        "simulated clock running market time --speed times faster than the wall clock (the "
        "rotator's and the monitor's intervals are market time) and a live view. Stop with "
        "Ctrl-C (the current ticks finish) or --minutes. The defaults need nothing: a SQLite "
        "file, the synthetic market and the paper exchange.",
    )
    parser.add_argument(
        "--speed",
        type=bounded(float, 0, strict=True),
        default=SPEED,
        help=f"market seconds per wall second (default: {SPEED:g}, six hours a minute)",
    )
    parser.add_argument(
        "--realtime", action="store_true", help="run on the wall clock (same as --speed 1)"
    )
    parser.add_argument(
        "--minutes",
        type=bounded(float, 0, strict=True),
        default=None,
        help="stop after this many wall minutes",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless strategies reached ACTIVE and LIVE and LIVE strategies traded",
    )
    parser.set_defaults(handler=run)


@attrs.define
class Progress:
    """What the view shows and the end reports, read from the database."""

    statuses: Counter
    reached: Counter
    pool: list
    live: list
    events: list
    retired: Counter
    trades: int


def run(args: argparse.Namespace) -> int:
    speed = 1.0 if args.realtime else args.speed
    loaded = configuration.load(args.config)
    settings = attrs.evolve(loaded, clock=attrs.evolve(loaded.clock, speed=speed))
    container = wiring.container(settings)
    console = Console()
    try:
        schema = container.schema()
        console.print(f"database {schema.shown_url}: upgrading to the latest schema")
        schema.upgrade()
        clock = container.clock()
        pipeline = wiring.use_cases(container)
        loops = [
            loop
            for service in services.SERVICES
            for loop in service.timed_loops(pipeline, settings)
        ]
        market = settings.market_data
        about = f"market: {market.source}" + (
            f" {market.synthetic_mode}: {EDGES[market.synthetic_mode]}"
            if market.source == "synthetic"
            else ""
        )
        console.print(about)
        console.print(f"clock: {speed:g}x ({timedelta(seconds=speed)} of market a second)")
        heartbeat = pipeline.heartbeat(service="run")
        runner = ServiceRunner(
            "run", interval=1.0, on_tick=heartbeat.ticked, stop_flag=pipeline.stop_flag()
        )
        started = time.monotonic()
        if args.minutes:
            timer = threading.Timer(args.minutes * 60, runner.stop)
            timer.daemon = True
            timer.start()
        with Live(console=console, refresh_per_second=2) as live:

            def view() -> bool:
                live.update(_view(_progress(container), clock.now(), time.monotonic() - started))
                return False

            runner.run([*loops, Loop("view", view, 1.0)])
        heartbeat.stopped()
        progress = _progress(container, final=True)
    finally:
        container.shutdown_resources()
    console.print(_summary(progress, time.monotonic() - started))
    if args.check:
        missing = [s for s in (Status.ACTIVE, Status.LIVE) if not progress.reached[s]]
        if missing or not progress.trades:
            what = ", ".join(str(s) for s in missing) or "no LIVE trade"
            console.print(f"check failed: nothing reached {what}")
            return 1
        console.print("check passed: strategies reached ACTIVE and LIVE, and LIVE ones traded")
    return 0


def _progress(container, final: bool = False) -> Progress:
    """The figures of the view; ``final`` adds the retirements by reason (reads every one)."""
    with container.unit_of_work() as uow:
        statuses = Counter({s: uow.strategies.count(s) for s in Status})
        reached = Counter({s: uow.strategies.reached(s) for s in Status})
        pool = sorted(
            uow.strategies.by_status(Status.ACTIVE),
            key=lambda s: s.score_backtest or 0,
            reverse=True,
        )
        accounts = {a.strategy_id: a for a in uow.subaccounts.all() if a.strategy_id}
        live = [
            (strategy, accounts.get(strategy.id), uow.trades.for_strategy(strategy.id))
            for strategy in uow.strategies.by_status(Status.LIVE)
        ]
        events = uow.strategies.recent_events(8)
        retired = Counter(
            s.retired_reason.code.value if s.retired_reason else NOT_RECORDED
            for s in (uow.strategies.by_status(Status.RETIRED) if final else [])
        )
        trades = uow.trades.count()
    return Progress(statuses, reached, pool, live, events, retired, trades)


def _view(p: Progress, market_now: datetime, wall: float) -> Group:
    head = f"market time {market_now:%Y-%m-%d %H:%M} UTC   wall {wall:5.0f} s   " + "   ".join(
        f"{s} {p.statuses[s]}" for s in Status
    )
    pool = Table(title=f"ACTIVE pool ({len(p.pool)})", expand=False)
    for column in ("score", "type", "tf", "name"):
        pool.add_column(column)
    for s in p.pool[:5]:
        pool.add_row(f"{s.score_backtest or 0:.1f}", s.strategy_type, str(s.timeframe), s.name)
    live = Table(title=f"LIVE ({len(p.live)})")
    for column in ("sub", "name", "tf", "equity", "trades", "open", "score live"):
        live.add_column(column)
    for strategy, account, trades in p.live:
        equity = account.current_balance if account and account.current_balance else 0.0
        live.add_row(
            str(account.id if account else "-"),
            strategy.name,
            str(strategy.timeframe),
            f"{equity:.2f}",
            str(sum(not t.is_open for t in trades)),
            str(sum(t.is_open for t in trades)),
            "-" if strategy.score_live is None else f"{strategy.score_live:.1f}",
        )
    decisions = Table(title="latest decisions")
    for column in ("market time", "strategy", "change", "reason"):
        decisions.add_column(column)
    for name, e in p.events:
        decisions.add_row(
            f"{e.at:%m-%d %H:%M}", name, f"{e.from_status} -> {e.to_status}", str(e.reason)[:70]
        )
    return Group(head, pool, live, decisions)


def _summary(p: Progress, wall: float) -> str:
    reached = ", ".join(f"{s} {p.reached[s]}" for s in (Status.ACTIVE, Status.LIVE))
    retired = ", ".join(f"{code} {n}" for code, n in p.retired.most_common()) or "none"
    return (
        f"\nran {wall:.0f} s: now "
        + ", ".join(f"{s} {p.statuses[s]}" for s in Status)
        + f"\nreached (events): {reached}; LIVE trades {p.trades}\nretired by reason: {retired}"
    )
