"""What commands print: JSON of read models (``--json``) and small text helpers for tables."""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sixbtc.application.errors import ApplicationError
from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.coin_figures import CoinFigures
from sixbtc.domain.metrics import Metrics


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: attrs objects as objects, times in ISO 8601, enums by value,
    ids as text, infinite and NaN figures as "Infinity", "-Infinity" and "NaN" (as stored)."""
    if attrs.has(type(value)):
        return {f.name: jsonable(getattr(value, f.name)) for f in attrs.fields(type(value))}
    if isinstance(value, dict):
        return {str(jsonable(k)): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


@contextmanager
def live_line(
    console: Console,
) -> Iterator[tuple[Callable[[str], object], Callable[[str], object]]]:
    """``(say, stage)``: ``say(line)`` prints a result; ``stage(line)`` shows what is under way.
    On a terminal the stage is a live line below the results with a spinner and the time
    elapsed; elsewhere results print plainly and stages are not shown."""
    if not console.is_terminal:
        yield (lambda line: console.print(line, soft_wrap=True)), (lambda line: None)
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as live:
        task = live.add_task("starting")
        yield live.console.print, (lambda line: live.update(task, description=line))


def check_writable(paths: Iterable[Path], *, replace: bool) -> None:
    """Refuse (OutputError) unless each path's folder exists and, unless ``replace``, the path
    does not: asked before long work, so that it is not lost to a typo."""
    for path in paths:
        if not path.parent.is_dir():
            raise OutputError(f"folder {path.parent} does not exist; nothing written")
        if path.is_dir() or (path.exists() and not replace):
            raise OutputError(f"{path} exists; nothing written (choose another name or folder)")


def write_files(files: dict[Path, str], *, replace: bool) -> None:
    """Write every file or none: each file is written beside its place, then all are moved
    there (see :func:`check_writable`)."""
    check_writable(files, replace=replace)
    parts = {path: path.with_name(f".{path.name}.part") for path in files}
    try:
        for path, text in files.items():
            parts[path].write_text(text)
    except OSError as error:
        for part in parts.values():
            part.unlink(missing_ok=True)
        raise OutputError(
            f"cannot write {error.filename}: {error.strerror}; nothing written"
        ) from None
    for path, part in parts.items():
        part.replace(path)


class OutputError(ApplicationError):
    """Files a command was asked to write cannot be written."""


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    print(json.dumps(jsonable(value), indent=2))


def number(value: float | None, digits: int = 2) -> str:
    """A figure for a table: ``-`` when missing."""
    return "-" if value is None else f"{value:.{digits}f}"


def ago(then: datetime | None, now: datetime) -> str:
    """How long before ``now``, in the largest fitting unit (``-`` when never)."""
    if then is None:
        return "-"
    seconds = max(0.0, (now - then).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit} ago"
    return f"{seconds:.0f} s ago"


def execution_text(p: ExecutionParameters | None) -> str:
    """Execution parameters in words (``-`` when none)."""
    if p is None:
        return "-"
    return (
        f"stop {p.stop_loss:g} target {p.take_profit:g} ({p.stop_unit}) leverage "
        f"{p.leverage:g} hold {p.max_hold_bars} bars"
    )


def percent(value: float, decimals: int = 2) -> str:
    """A fraction as a percentage; beyond 10,000% in three significant digits."""
    if abs(value) >= 100:
        return f"{value * 100:.3g}%"
    return f"{value:.{decimals}%}"


METRICS = (
    ("trades", "trades", lambda v: f"{v:.0f}"),
    ("total return", "total_return", percent),
    ("sharpe", "sharpe", lambda v: f"{v:.2f}"),
    ("max drawdown", "max_drawdown", percent),
    ("win rate", "win_rate", lambda v: percent(v, 1)),
    ("expectancy", "expectancy", lambda v: percent(v, 3)),
    ("profit factor", "profit_factor", lambda v: f"{v:.2f}"),
)


def metrics_table(title: str, columns: dict[str, Metrics]) -> Table:
    """Metrics side by side, one column per run or window."""
    table = Table(title=title)
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for label, field, shape in METRICS:
        table.add_row(label, *(shape(getattr(m, field)) for m in columns.values()))
    return table


#: Coins shown in a per-coin table (``--json`` has them all).
SHOWN_COINS = 10


def coins_table(coins: Sequence[CoinFigures], shown: int = SHOWN_COINS) -> Table:
    """The ``shown`` coins with the best holdout return: training and holdout figures."""
    table = Table(title=f"per coin (best {shown} of {len(coins) // 2} by holdout return)")
    columns = ("coin", "trades", "win rate", "mean", "total", "holdout trades", "holdout total")
    for column in columns:
        table.add_column(column, justify="right")
    training = {c.symbol: c for c in coins if c.window == "training"}
    holdout = {c.symbol: c for c in coins if c.window == "holdout"}
    for h in sorted(holdout.values(), key=lambda c: c.total_return, reverse=True)[:shown]:
        t = training[h.symbol]
        table.add_row(
            h.symbol,
            str(t.trades),
            percent(t.win_rate, 1),
            percent(t.mean_return, 3),
            percent(t.total_return),
            str(h.trades),
            percent(h.total_return),
        )
    return table
