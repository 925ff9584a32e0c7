"""``sixbtc backtest FILE|ID|NAME``: backtest one strategy on demand, on any configured source and
period, through the sandbox with the factory's engine and rules; nothing is stored."""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import attrs
from rich.console import Console
from rich.table import Table

from sixbtc import config as configuration
from sixbtc.application.strategy_file import read_source
from sixbtc.application.strategy_report import find
from sixbtc.application.study import StudyError, StudyReport, StudyRequest
from sixbtc.domain.candles import from_ms
from sixbtc.domain.timeframe import Timeframe
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.commands.strategy_views import choice
from sixbtc.entrypoints.console import bounded
from sixbtc.entrypoints.output import execution_text, live_line, metrics_table, print_json

#: Coins shown in the per-coin table of the text report (``--json`` has them all).
SHOWN_COINS = 10


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "backtest",
        help="backtest one strategy (a file, or a stored one) on any source and period",
        description="Backtest one strategy through the sandbox with the factory's engine, "
        "trading rules, costs and scoring, on the configured market data (market_data.source, "
        "or --source: synthetic, the ccxt cache, or imported files with `cache`), over a chosen "
        "period whose last --holdout-days are the holdout. A FILE is searched as the factory's "
        "initial backtest does (every timeframe times every combination, chosen on training); a "
        "stored strategy (ID or NAME) re-runs its timeframe and execution parameters unless "
        "--search. Nothing is stored and no status changes. Prints the report (or --json) and "
        "can write the trades and the equity curve as CSV.",
    )
    parser.add_argument("target", metavar="FILE|ID|NAME", help="a strategy file or a stored one")
    parser.add_argument("--start", type=_day, help="first day (UTC, 2025-01-01)")
    parser.add_argument(
        "--end",
        type=_day,
        help="day the period ends at 00:00 UTC (default: backtester.window_end or now)",
    )
    parser.add_argument(
        "--timeframe",
        action="append",
        type=choice(Timeframe),
        default=[],
        help="timeframe to try (repeat for several; default: the configured ones, or the stored "
        "strategy's)",
    )
    parser.add_argument(
        "--coins",
        nargs="+",
        metavar="SYMBOL",
        help="coins (default: the stored strategy's, or "
        "the first backtester.coins the source serves)",
    )
    parser.add_argument(
        "--holdout-days", type=bounded(int, 1), help="default: backtester.holdout_days"
    )
    parser.add_argument(
        "--source", choices=("synthetic", "ccxt", "cache"), help="override market_data.source"
    )
    parser.add_argument(
        "--search", action="store_true", help="search timeframes and parameters for a stored one"
    )
    parser.add_argument(
        "--result",
        type=bounded(int, 1),
        metavar="N",
        help="recompute a stored one's backtest N (as numbered by `strategy show`, 1 the first): "
        "its windows, timeframe and parameters, with its trades and equity",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--trades", type=Path, metavar="CSV", help="write every trade as CSV")
    parser.add_argument("--equity", type=Path, metavar="CSV", help="write the equity curve as CSV")
    parser.set_defaults(handler=run)


def _day(text: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}; expected a date such as 2025-01-01") from None


def run(args: argparse.Namespace) -> int:
    settings = configuration.load(args.config)
    if args.source:
        settings = attrs.evolve(
            settings, market_data=attrs.evolve(settings.market_data, source=args.source)
        )
    path = Path(args.target)
    code = read_source(path) if path.suffix == ".py" or path.exists() else None
    container = wiring.container(settings)
    try:
        request = _request(args, container, settings, code)
        study = wiring.use_cases(container).study()
        with live_line(Console(stderr=True)) as (_, stage):
            report = study.run(request, stage=stage)
    finally:
        container.shutdown_resources()
    if args.trades:
        _write_trades(args.trades, report)
    if args.equity:
        _write_equity(args.equity, report)
    if args.json:
        print_json(_document(report))
    else:
        console = Console()
        for part in render(report):
            console.print(part)
    return 0


def _request(args, container, settings, code: str | None) -> StudyRequest:
    """The study the arguments ask for (a file's code, or a stored strategy's record)."""
    b = settings.backtester
    parameters, coins, timeframes = None, (), tuple(settings.timeframes())
    if code is None:
        schema = container.schema()
        schema.require_current()
        with container.unit_of_work() as uow:
            stored = find(uow, args.target)
            results = uow.backtests.for_strategy(stored.id)
        code, coins = stored.code, stored.coins
        if args.result:
            return _recompute(
                args, stored, results, coins or tuple(container.market_data().symbols()[: b.coins])
            )
        if not args.search and stored.timeframe and stored.execution:
            parameters, timeframes = stored.execution, (stored.timeframe,)
    else:
        problem = container.code_inspector().problem(code)
        if problem:
            print(f"warning: the validator would retire it: {problem}", file=sys.stderr)
    if args.timeframe:
        timeframes = tuple(args.timeframe)
    if args.coins:
        coins = tuple(args.coins)
    if not coins:
        coins = tuple(container.market_data().symbols()[: b.coins])
    end = args.end or (
        datetime.combine(date.fromisoformat(b.window_end), datetime.min.time(), UTC)
        if b.window_end
        else container.clock().now()
    )
    start = args.start or end - timedelta(days=b.training_days + b.holdout_days)
    return StudyRequest(
        code=code,
        coins=coins,
        timeframes=timeframes,
        start=start,
        end=end,
        holdout_days=args.holdout_days or b.holdout_days,
        parameters=parameters,
    )


def _recompute(args, stored, results, coins: tuple[str, ...]) -> StudyRequest:
    """The study that recomputes the stored backtest ``args.result`` of ``stored``."""
    if args.result > len(results):
        raise StudyError(
            f"--result {args.result}: {stored.name} has {len(results)} backtest results; "
            "`sixbtc strategy show` numbers them"
        )
    result = results[args.result - 1]
    return StudyRequest(
        code=stored.code,
        coins=coins,
        timeframes=(result.timeframe,),
        start=result.training_window.start,
        end=result.holdout_window.end,
        holdout_days=(result.holdout_window.end - result.holdout_window.start).days,
        parameters=result.parameters,
    )


def _document(report: StudyReport) -> dict:
    """The report as JSON data: figures and trades (the equity curve goes to --equity)."""
    return {
        "timeframe": report.timeframe,
        "parameters": report.parameters,
        "searched": report.searched,
        "training_window": report.training_window,
        "holdout_window": report.holdout_window,
        "training": report.training,
        "holdout": report.holdout,
        "score": report.score,
        "coins": report.coins,
        "trades": [_trade_row(window, t) for window, t in report.trades()],
    }


TRADE_COLUMNS = (
    "window", "symbol", "direction", "entry_time", "entry_price", "exit_time", "exit_price",
    "reason", "return_on_margin",
)  # fmt: skip


def _trade_row(window: str, t) -> dict:
    return {
        "window": window,
        "symbol": t.symbol,
        "direction": t.direction.name.lower(),
        "entry_time": from_ms(t.entry_time).isoformat(),
        "entry_price": t.entry_price,
        "exit_time": from_ms(t.exit_time).isoformat(),
        "exit_price": t.exit_price,
        "reason": str(t.reason),
        "return_on_margin": t.return_on_margin,
    }


def _write_trades(path: Path, report: StudyReport) -> None:
    with path.open("w", newline="") as file:
        writer = csv.DictWriter(file, TRADE_COLUMNS)
        writer.writeheader()
        writer.writerows(_trade_row(window, t) for window, t in report.trades())


def _write_equity(path: Path, report: StudyReport) -> None:
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(("time", "equity"))
        writer.writerows((when.isoformat(), value) for when, value in report.equity())


def render(report: StudyReport) -> list:
    """The report as rich renderables."""
    head = (
        f"chosen {report.timeframe}, {execution_text(report.parameters)} "
        f"(of {report.searched} tried); score {report.score:.2f}\n"
        f"training {report.training_window.start:%Y-%m-%d %H:%M} .. "
        f"{report.training_window.end:%Y-%m-%d %H:%M}, holdout "
        f"{report.holdout_window.start:%Y-%m-%d %H:%M} .. "
        f"{report.holdout_window.end:%Y-%m-%d %H:%M} (UTC)"
    )
    out: list = [
        head,
        metrics_table(
            "training and holdout", {"training": report.training, "holdout": report.holdout}
        ),
    ]
    if report.holdout.trades == 0:
        out.append("warning: no trade in the holdout; the score rests on training alone")
    coins = Table(title=f"per coin (best {SHOWN_COINS} by holdout return)")
    for column in (
        "coin",
        "trades",
        "win rate",
        "mean",
        "total",
        "holdout trades",
        "holdout total",
    ):
        coins.add_column(column, justify="right")
    training = {c.symbol: c for c in report.coins if c.window == "training"}
    holdout = {c.symbol: c for c in report.coins if c.window == "holdout"}
    ranked = sorted(holdout.values(), key=lambda c: c.total_return, reverse=True)
    for h in ranked[:SHOWN_COINS]:
        t = training[h.symbol]
        coins.add_row(
            h.symbol,
            str(t.trades),
            f"{t.win_rate:.1%}",
            f"{t.mean_return:.3%}",
            f"{t.total_return:.2%}",
            str(h.trades),
            f"{h.total_return:.2%}",
        )
    out.append(coins)
    return out
