"""``sixbtc backtest FILE|ID|NAME``: backtest one strategy on demand, on any configured source and
period, through the sandbox with the factory's engine and rules; nothing is stored."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import attrs
from rich.console import Console

from sixbtc import config as configuration
from sixbtc.application.strategy_file import read_source
from sixbtc.application.study import StudyReport
from sixbtc.domain.candles import from_ms
from sixbtc.domain.timeframe import Timeframe
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.commands.strategy_views import choice
from sixbtc.entrypoints.console import bounded
from sixbtc.entrypoints.output import (
    check_writable,
    coins_table,
    execution_text,
    live_line,
    metrics_table,
    print_json,
    write_files,
)


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
    outputs: dict[Path, str] = {}
    check_writable([p for p in (args.trades, args.equity) if p], replace=True)  # before the work
    container = wiring.container(settings)
    try:
        study = wiring.use_cases(container).study()
        period = {
            "coins": args.coins or (),
            "timeframes": args.timeframe,
            "start": args.start,
            "end": args.end,
            "holdout_days": args.holdout_days,
        }
        if code is None:
            container.schema().require_current()
            request = study.of_stored(args.target, result=args.result, search=args.search, **period)
        else:
            problem = container.code_inspector().problem(code)
            if problem:
                print(f"warning: the validator would retire it: {problem}", file=sys.stderr)
            request = study.of_code(code, **period)
        with live_line(Console(stderr=True)) as (_, stage):
            report = study.run(request, stage=stage)
    finally:
        container.shutdown_resources()
    if args.trades:
        outputs[args.trades] = _csv(TRADE_COLUMNS, [_trade_row(w, t) for w, t in report.trades()])
    if args.equity:
        rows = [{"time": when.isoformat(), "equity": value} for when, value in report.equity()]
        outputs[args.equity] = _csv(("time", "equity"), rows)
    write_files(outputs, replace=True)
    if args.json:
        print_json(_document(report))
    else:
        console = Console()
        for part in render(report):
            console.print(part)
    return 0


def _csv(columns: tuple[str, ...], rows: list[dict]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, columns)
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue()


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


#: The columns of a backtest's trades as CSV (live trades: ``strategy export``).
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
    out.append(coins_table(report.coins))
    return out
