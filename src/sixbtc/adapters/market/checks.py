"""Data checks on every batch of 5m bars before it enters the cache.

:func:`check` looks at the bars in the order they arrived and returns a :class:`DataReport`: one
:class:`Issue` per kind of defect, with its count and locations (row in the batch, open time, and the
file line when the bars came from a file). The kinds:

========================  ======================================================  ===============
kind                      what                                                    outcome
========================  ======================================================  ===============
``gap``                   bars missing between two bars (``missing`` per gap)     kept, reported
``duplicate``             a bar repeating the previous bar exactly                removed, reported
``conflicting_duplicate`` same open time as the previous bar, different values    refused
``non_increasing_time``   open time earlier than the previous bar's               refused
``misaligned_time``       open time not on a 5-minute boundary (UTC)              refused
``non_finite_price``      open, high, low or close is NaN or infinite             refused
``non_positive_price``    open, high, low or close is zero or negative            refused
``high_below_low``        high < low                                              refused
``outside_range``         open or close outside [low, high]                       refused
``bad_volume``            volume NaN, infinite or negative                        refused
``conflicts_with_cache``  a bar the cache holds with other values (cache writes)  refused
========================  ======================================================  ===============

Only exact duplicates are repaired, because only there the rule is unambiguous; the report says
so (``repaired``). A batch with any refused defect is rejected whole (:class:`RejectedData`):
nothing of it enters the cache. Gaps are facts of the market (no trade in 5 minutes, exchange
downtime), so they are kept and reported, and the aggregation rules say how they are treated.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import numpy as np

from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.domain.candles import FIELDS, Candles
from sixbtc.domain.timeframe import Timeframe

STEP_MS = Timeframe.M5.minutes * 60_000
REFUSED = frozenset(
    {
        "conflicting_duplicate",
        "non_increasing_time",
        "misaligned_time",
        "non_finite_price",
        "non_positive_price",
        "high_below_low",
        "outside_range",
        "bad_volume",
        "conflicts_with_cache",
    }
)
SHOWN_LOCATIONS = 5


def _float(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.float64)


def _int(values: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(values, dtype=np.int64)


@attrs.frozen(eq=False)
class CandleRows:
    """5m bars as they arrived, unchecked: open time in UTC ms and OHLCV, one element per row.

    ``lines`` gives the file line of each row when the rows came from a file.
    """

    time: np.ndarray = attrs.field(converter=_int)
    open: np.ndarray = attrs.field(converter=_float)
    high: np.ndarray = attrs.field(converter=_float)
    low: np.ndarray = attrs.field(converter=_float)
    close: np.ndarray = attrs.field(converter=_float)
    volume: np.ndarray = attrs.field(converter=_float)
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.time.shape[0])

    @classmethod
    def of(cls, candles: Candles) -> CandleRows:
        """The rows of already checked candles."""
        return cls(candles.time, *(getattr(candles, name) for name in FIELDS))


@attrs.frozen
class Issue:
    """One kind of defect: the rows (0-based, in arrival order) and open times where it occurs.

    For a gap, the row is the bar after the gap, the time is the first missing open time and
    ``missing`` the number of bars missing there.
    """

    kind: str
    rows: tuple[int, ...]
    times: tuple[int, ...]
    missing: tuple[int, ...] = ()
    lines: tuple[int, ...] = ()
    repaired: bool = False

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def refused(self) -> bool:
        return self.kind in REFUSED

    def describe(self) -> str:
        places = []
        for i in range(min(self.count, SHOWN_LOCATIONS)):
            where = f"line {self.lines[i]}" if self.lines else f"row {self.rows[i]}"
            place = f"{where} ({iso(self.times[i])})"
            if self.missing:
                place += f" {self.missing[i]} bars missing"
            places.append(place)
        more = f" and {self.count - SHOWN_LOCATIONS} more" if self.count > SHOWN_LOCATIONS else ""
        outcome = "refused" if self.refused else "removed" if self.repaired else "kept"
        return f"{self.kind}: {self.count} ({outcome}) at {', '.join(places)}{more}"


@attrs.frozen
class DataReport:
    """What the checks found in one batch of bars of ``symbol`` from ``origin``."""

    symbol: str
    origin: str
    bars_in: int
    bars_out: int
    issues: tuple[Issue, ...]

    @property
    def rejected(self) -> bool:
        return any(issue.refused for issue in self.issues)

    def issue(self, kind: str) -> Issue | None:
        """The issue of ``kind``, or None when the batch has none."""
        return next((issue for issue in self.issues if issue.kind == kind), None)

    def __str__(self) -> str:
        verdict = "REJECTED, nothing stored" if self.rejected else f"{self.bars_out} bars accepted"
        head = f"{self.symbol} from {self.origin}: {self.bars_in} bars in, {verdict}"
        return "\n".join([head, *(f"  {issue.describe()}" for issue in self.issues)])


class RejectedData(MarketDataUnavailable):
    """A batch of bars failed the data checks; ``report`` says where and why."""

    def __init__(self, report: DataReport) -> None:
        super().__init__(str(report))
        self.report = report


def iso(ms: int) -> str:
    """``ms`` (UTC epoch milliseconds) as ISO 8601, e.g. ``2024-01-01T00:05:00Z`` (beyond the years
    1 to 9999, the number of milliseconds)."""
    try:
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (ValueError, OverflowError, OSError):
        return f"{ms} ms since 1970"


def check(rows: CandleRows, symbol: str, origin: str) -> tuple[Candles | None, DataReport]:
    """Check ``rows``; return the accepted candles (exact duplicates removed) and the report.

    The candles are None when the report rejects the batch.
    """
    time = rows.time
    prices = np.stack([rows.open, rows.high, rows.low, rows.close])
    ends = np.stack([rows.open, rows.close])
    step = np.diff(time)
    same_values = np.all(prices[:, 1:] == prices[:, :-1], axis=0) & (
        rows.volume[1:] == rows.volume[:-1]
    )
    later = np.flatnonzero(step == 0) + 1
    exact = later[same_values[later - 1]]
    findings = {
        "duplicate": exact,
        "conflicting_duplicate": later[~same_values[later - 1]],
        "non_increasing_time": np.flatnonzero(step < 0) + 1,
        "misaligned_time": np.flatnonzero(time % STEP_MS != 0),
        "non_finite_price": np.flatnonzero(~np.isfinite(prices).all(axis=0)),
        "non_positive_price": np.flatnonzero((prices <= 0).any(axis=0)),
        "high_below_low": np.flatnonzero(rows.high < rows.low),
        "outside_range": np.flatnonzero(
            (rows.high >= rows.low) & ((ends > rows.high) | (ends < rows.low)).any(axis=0)
        ),
        "bad_volume": np.flatnonzero(~(np.isfinite(rows.volume) & (rows.volume >= 0))),
    }
    issues = []
    for kind in ("gap", *findings):
        if kind == "gap":
            after = np.flatnonzero(step > STEP_MS) + 1
            missing = (step[after - 1] // STEP_MS - 1) if len(after) else after
            times = time[after - 1] + STEP_MS
            issue = issue_at(kind, after, times, rows.lines, missing=missing)
        else:
            found = findings[kind]
            issue = issue_at(kind, found, time[found], rows.lines, repaired=kind == "duplicate")
        if issue.count:
            issues.append(issue)
    keep = np.ones(len(rows), dtype=bool)
    keep[exact] = False
    rejected = any(issue.refused for issue in issues)
    report = DataReport(
        symbol, origin, len(rows), 0 if rejected else int(keep.sum()), tuple(issues)
    )
    if rejected:
        return None, report
    candles = Candles(
        symbol, Timeframe.M5, time[keep], *(getattr(rows, name)[keep] for name in FIELDS)
    )
    return candles, report


def issue_at(
    kind: str,
    rows: np.ndarray,
    times: np.ndarray,
    lines: np.ndarray | None,
    missing: np.ndarray | None = None,
    repaired: bool = False,
) -> Issue:
    """The issue ``kind`` at ``rows`` of a batch (``times`` their open times)."""
    return Issue(
        kind,
        tuple(int(r) for r in rows),
        tuple(int(t) for t in times),
        () if missing is None else tuple(int(m) for m in missing),
        () if lines is None else tuple(int(lines[r]) for r in rows),
        repaired,
    )
