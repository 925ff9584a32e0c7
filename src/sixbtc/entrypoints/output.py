"""What commands print: JSON of read models (``--json``) and small text helpers for tables."""

from __future__ import annotations

import enum
import json
import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import attrs
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sixbtc.domain.backtest import ExecutionParameters
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
