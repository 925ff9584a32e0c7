"""``sixbtc strategy list`` and ``sixbtc strategy show ID|NAME``: read the database, change
nothing."""

from __future__ import annotations

import argparse
import csv
import io
import json
from pathlib import Path

from rich.console import Console
from rich.syntax import Syntax
from rich.table import Table

from sixbtc.application.ports import StrategyFilter
from sixbtc.application.research import GATES
from sixbtc.application.strategy_report import StrategyReport
from sixbtc.domain.reasons import NOT_RECORDED, Code
from sixbtc.domain.sensitivity import Robustness
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.console import bounded
from sixbtc.entrypoints.output import (
    coins_table,
    execution_text,
    jsonable,
    metrics_table,
    number,
    print_json,
    write_files,
)

#: Live trades shown by ``show`` (the JSON has them all).
SHOWN_TRADES = 20


def register(actions: argparse._SubParsersAction) -> None:
    listing = actions.add_parser(
        "list",
        help="list strategies, best backtest score first",
        description="List the strategies of the configured database, best backtest score first "
        "(unscored last, then oldest first). Every filter may be repeated; a strategy must pass "
        "each filter given (any of its values).",
    )
    listing.add_argument(
        "--status", action="append", type=choice(Status), default=[], help="GENERATED, ..."
    )
    listing.add_argument("--type", action="append", default=[], help="strategy type, e.g. MOM")
    listing.add_argument(
        "--timeframe", action="append", type=choice(Timeframe), default=[], help="5m, 15m, ..."
    )
    listing.add_argument(
        "--reason",
        action="append",
        type=choice(Code),
        default=[],
        help="retirement reason code, e.g. pool_full, deflated_sharpe, live_score",
    )
    listing.add_argument(
        "--limit", type=bounded(int, 0), default=50, help="most rows (default: 50; 0 for all)"
    )
    listing.add_argument("--json", action="store_true", help="print the rows as JSON")
    listing.set_defaults(handler=_list)
    show = actions.add_parser(
        "show",
        help="one strategy's whole record: code, history, backtests, live trades",
        description="Show one strategy (by id or name): type, parameters, status history with "
        "reasons and figures, the chosen timeframe, execution parameters and coins, every "
        "backtest with training and holdout metrics side by side, and when it has traded its "
        f"subaccount, live metrics and trades (the latest {SHOWN_TRADES}; --json has them all).",
    )
    show.add_argument("key", metavar="ID|NAME", help="the strategy's id or name")
    show.add_argument("--json", action="store_true", help="print the record as JSON")
    show.add_argument("--no-code", action="store_true", help="leave the code out of the text")
    show.set_defaults(handler=_show)
    export = actions.add_parser(
        "export",
        help="write one strategy's code, record (JSON) and live trades (CSV) to files",
        description="Write NAME.py (its code, as stored), NAME.json (the record `show --json` "
        "prints) and NAME-trades.csv (its live trades, one row each) in --dir. Existing files "
        "are never overwritten.",
    )
    export.add_argument("key", metavar="ID|NAME", help="the strategy's id or name")
    export.add_argument("--dir", type=Path, default=Path("."), help="folder (default: here)")
    export.set_defaults(handler=_export)


def choice(kind):
    """An argparse type for a value of the enum ``kind``, naming the accepted ones on error."""

    def parse(text: str):
        try:
            return kind(text)
        except ValueError:
            accepted = ", ".join(member.value for member in kind)
            raise argparse.ArgumentTypeError(f"{text!r}; expected one of {accepted}") from None

    return parse


def _list(args: argparse.Namespace) -> int:
    wanted = StrategyFilter(
        statuses=frozenset(args.status),
        types=frozenset(args.type),
        timeframes=frozenset(args.timeframe),
        reasons=frozenset(args.reason),
        limit=args.limit or None,
    )
    container = wiring.container(args.config)
    try:
        container.schema().require_current()
        found = wiring.use_cases(container).strategy_reports().listing(wanted)
    finally:
        container.shutdown_resources()
    if args.json:
        print_json([_row(s) for s in found])
        return 0
    table = Table(title=f"{len(found)} strategies")
    for column in ("name", "type", "status", "tf", "score", "live", "reason", "id"):
        table.add_column(column)
    for s in found:
        table.add_row(
            s.name,
            s.strategy_type,
            str(s.status),
            str(s.timeframe or "-"),
            number(s.score_backtest),
            number(s.score_live),
            str(s.retired_reason or (NOT_RECORDED if s.status is Status.RETIRED else ""))[:60],
            str(s.id),
        )
    Console().print(table)
    return 0


def _row(s: Strategy) -> dict:
    return {
        "id": s.id,
        "name": s.name,
        "type": s.strategy_type,
        "status": s.status,
        "timeframe": s.timeframe,
        "score_backtest": s.score_backtest,
        "score_live": s.score_live,
        "retired_reason": s.retired_reason,
        "created_at": s.created_at,
    }


def _report(args: argparse.Namespace) -> StrategyReport:
    container = wiring.container(args.config)
    try:
        container.schema().require_current()
        return wiring.use_cases(container).strategy_reports().report(args.key)
    finally:
        container.shutdown_resources()


#: The columns of live trades as CSV (a backtest's trades: ``sixbtc backtest --trades``).
LIVE_TRADE_COLUMNS = (
    "symbol", "direction", "entry_time", "entry_price", "amount", "leverage", "exit_time",
    "exit_price", "exit_reason", "fees", "pnl", "return_on_margin", "subaccount",
)  # fmt: skip


def _export(args: argparse.Namespace) -> int:
    report = _report(args)
    name = report.strategy.name
    files = {
        args.dir / f"{name}.py": report.strategy.code,
        args.dir / f"{name}.json": json.dumps(jsonable(report), indent=2) + "\n",
    }
    trades = io.StringIO()
    writer = csv.DictWriter(trades, LIVE_TRADE_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(jsonable(t) | {"direction": t.direction.name.lower()} for t in report.trades)
    files[args.dir / f"{name}-trades.csv"] = trades.getvalue()
    write_files(files, replace=False)
    for path in files:
        print(path)
    return 0


def _show(args: argparse.Namespace) -> int:
    report = _report(args)
    if args.json:
        print_json(report)
        return 0
    console = Console()
    for part in render(report, code=not args.no_code):
        console.print(part)
    return 0


def robustness_text(report: StrategyReport) -> str:
    """The research gates' figures (from the admission or the gate's retirement), the latest
    initial backtest's grid neighbourhood and the latest backtest's trade bands."""
    gates = {*GATES, Code.ADMITTED}
    decided = [e.reason for e in report.events if e.reason.code in gates]
    verdict = "-"
    if decided:
        reason = decided[-1]
        verdict = (
            reason.figures.partition("gates passed: ")[2] or "not asked (no gate configured)"
            if reason.code is Code.ADMITTED
            else str(reason)
        )
    robustness = Robustness.latest([r.robustness for r in report.backtests])
    near = robustness.neighbourhood if robustness else None
    bands = robustness.bands if robustness else None
    missing = "not recorded (a backtest from before this version)" if not robustness else "-"
    return "\n".join(
        [
            "robustness:",
            f"  research gates: {verdict}",
            f"  grid neighbourhood: {near if near else missing}",
            f"  Monte Carlo: {bands if bands else missing}",
        ]
    )


def render(report: StrategyReport, code: bool = True) -> list:
    """The report as rich renderables."""
    s = report.strategy
    head = [
        f"[bold]{s.name}[/bold] ({s.strategy_type}) {s.status}   id {s.id}",
        f"created {s.created_at:%Y-%m-%d %H:%M} UTC; timeframe {s.timeframe or '-'}; "
        f"execution: {execution_text(s.execution)}",
        f"coins: {', '.join(s.coins) or '-'}",
        f"parameters: {report.parameters if report.parameters is not None else '-'}",
        f"score: backtest {number(s.score_backtest)}, live {number(s.score_live)}",
    ]
    if s.retired_reason or s.status is Status.RETIRED:
        when = f"{s.retired_at:%Y-%m-%d %H:%M} UTC" if s.retired_at else "(time not recorded)"
        head.append(f"retired {when}: {s.retired_reason or NOT_RECORDED}")
    out: list = ["\n".join(head)]
    history = Table(title="status history")
    for column in ("at (UTC)", "change", "reason", "by"):
        history.add_column(column)
    for e in report.events:
        history.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            f"{e.from_status} -> {e.to_status}",
            str(e.reason),
            e.service,
        )
    out.append(history)
    if report.backtests:
        latest = report.backtests[-1]
        out.append(
            f"latest backtest ({latest.kind}, {latest.run_at:%Y-%m-%d %H:%M} UTC): "
            f"{latest.timeframe}, {execution_text(latest.parameters)}, score {latest.score:.2f}\n"
            f"training {latest.training_window.start:%Y-%m-%d} .. "
            f"{latest.training_window.end:%Y-%m-%d}, holdout "
            f"{latest.holdout_window.start:%Y-%m-%d} .. {latest.holdout_window.end:%Y-%m-%d}"
        )
        out.append(
            metrics_table(
                "training and holdout", {"training": latest.training, "holdout": latest.holdout}
            )
        )
        if latest.coins:
            out.append(coins_table(latest.coins))
        out.append(robustness_text(report))
        runs = Table(
            title=f"backtests ({len(report.backtests)}; `sixbtc backtest NAME --result N` "
            "recomputes one with its trades)"
        )
        for column in ("#", "at (UTC)", "kind", "tf", "score", "trades", "holdout sharpe"):
            runs.add_column(column)
        for number_, b in enumerate(report.backtests, start=1):
            runs.add_row(
                str(number_),
                f"{b.run_at:%Y-%m-%d %H:%M}",
                str(b.kind),
                str(b.timeframe),
                f"{b.score:.2f}",
                f"{b.training.trades}+{b.holdout.trades}",
                f"{b.holdout.sharpe:.2f}",
            )
        out.append(runs)
    if report.subaccount is not None:
        a = report.subaccount
        out.append(
            f"subaccount {a.id}: capital {a.allocated_capital:.2f}, balance "
            f"{number(a.current_balance)}, peak {number(a.peak_balance)}"
        )
    if report.live is not None:
        out.append(metrics_table("live", {"live": report.live}))
    if report.trades:
        closed = [t for t in report.trades if not t.is_open]
        out.append(
            f"live trades: {len(report.trades)} ({len(report.trades) - len(closed)} open), "
            f"profit {sum(t.pnl or 0.0 for t in closed):.2f}"
        )
        trades = Table(title=f"latest {min(SHOWN_TRADES, len(report.trades))} trades")
        for column in (
            "symbol",
            "side",
            "entry (UTC)",
            "price",
            "exit (UTC)",
            "price",
            "why",
            "pnl",
        ):
            trades.add_column(column)
        for t in report.trades[-SHOWN_TRADES:]:
            trades.add_row(
                t.symbol,
                t.direction.name.lower(),
                f"{t.entry_time:%m-%d %H:%M}",
                f"{t.entry_price:.6g}",
                "-" if t.exit_time is None else f"{t.exit_time:%m-%d %H:%M}",
                "-" if t.exit_price is None else f"{t.exit_price:.6g}",
                str(t.exit_reason or "open"),
                number(t.pnl),
            )
        out.append(trades)
    if code:
        out.append(Syntax(s.code, "python", line_numbers=True))
    return out
