"""The local candle cache: one parquet file of 5m bars per source and symbol.

Layout: ``<root>/<source>/<SYMBOL>/5m.parquet`` with the columns ``time`` (int64, UTC open time in
ms), ``open``, ``high``, ``low``, ``close``, ``volume`` (float64), sorted by time, one row per bar.
``source`` is the exchange id the bars came from (``binanceusdm``) or the name given to an import.
Only closed, checked 5m bars are stored; the higher timeframes are aggregated when read.

Every write goes through the data checks (:mod:`sixbtc.adapters.market.checks`) and is merged with
what the cache holds: a bar already cached with the same values is skipped, a bar that contradicts
the cached one rejects the batch. A rejected batch leaves the file untouched; an accepted one
replaces the file atomically.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import attrs
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sixbtc.adapters.market.checks import (
    STEP_MS,
    CandleRows,
    DataReport,
    RejectedData,
    check,
    issue_at,
)
from sixbtc.domain.candles import COLUMNS, FIELDS, Candles
from sixbtc.domain.timeframe import Timeframe

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@attrs.frozen
class Holding:
    """What the cache holds for one symbol: bars, first and last open time, gaps."""

    symbol: str
    bars: int
    first: int
    last: int
    gaps: int
    missing_bars: int


def _checked_name(kind: str, value: str) -> str:
    if not NAME.match(value):
        raise ValueError(
            f"cache {kind} {value!r}: expected letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


class ParquetCandleCache:
    """5m bars per source and symbol in parquet files under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, source: str, symbol: str) -> Path:
        folder = self.root / _checked_name("source", source) / _checked_name("symbol", symbol)
        return folder / f"{Timeframe.M5.value}.parquet"

    def symbols(self, source: str) -> list[str]:
        """Symbols with cached bars from ``source``, sorted."""
        folder = self.root / _checked_name("source", source)
        if not folder.is_dir():
            return []
        return sorted(p.parent.name for p in folder.glob(f"*/{Timeframe.M5.value}.parquet"))

    def read(self, source: str, symbol: str) -> Candles | None:
        """The cached 5m candles of ``symbol`` from ``source``; None when nothing is cached."""
        path = self.path(source, symbol)
        if not path.is_file():
            return None
        table = pq.read_table(path, columns=list(COLUMNS))
        return Candles(symbol, Timeframe.M5, *(table.column(name).to_numpy() for name in COLUMNS))

    def write(self, source: str, symbol: str, rows: CandleRows, origin: str) -> DataReport:
        """Check ``rows`` (from ``origin``: a file or an exchange) and merge them into the cache.

        Returns the report; raises RejectedData (file untouched) when the checks refuse the batch.
        """
        incoming, report = check(rows, symbol, origin)
        if incoming is None:
            raise RejectedData(report)
        existing = self.read(source, symbol)
        if existing is not None and len(existing):
            conflicts = _conflicts(existing, rows)
            if len(conflicts):
                issue = issue_at(
                    "conflicts_with_cache", conflicts, rows.time[conflicts], rows.lines
                )
                raise RejectedData(attrs.evolve(report, bars_out=0, issues=(*report.issues, issue)))
            incoming = _union(existing, incoming)
        self._store(self.path(source, symbol), incoming)
        return report

    def holdings(self, source: str) -> list[Holding]:
        """A summary of every symbol cached from ``source``."""
        result = []
        for symbol in self.symbols(source):
            time = pq.read_table(self.path(source, symbol), columns=["time"]).column(0)
            time = time.to_numpy()
            if len(time) == 0:
                continue
            missing = np.diff(time) // STEP_MS - 1
            result.append(
                Holding(
                    symbol,
                    len(time),
                    int(time[0]),
                    int(time[-1]),
                    int(np.count_nonzero(missing)),
                    int(missing.sum()),
                )
            )
        return result

    @staticmethod
    def _store(path: Path, candles: Candles) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.table({name: getattr(candles, name) for name in COLUMNS})
        partial = path.with_suffix(".partial")
        pq.write_table(table, partial, compression="lz4")
        os.replace(partial, path)


def _conflicts(existing: Candles, rows: CandleRows) -> np.ndarray:
    """Rows of the batch whose open time is cached with other values."""
    position = np.minimum(np.searchsorted(existing.time, rows.time), len(existing) - 1)
    cached = existing.time[position] == rows.time
    other_values = np.zeros(len(rows), dtype=bool)
    for name in FIELDS:
        other_values |= getattr(existing, name)[position] != getattr(rows, name)
    return np.flatnonzero(cached & other_values)


def _union(existing: Candles, incoming: Candles) -> Candles:
    """The cached bars plus the new ones (bars cached already are taken once)."""
    fresh = ~np.isin(incoming.time, existing.time)
    time = np.concatenate([existing.time, incoming.time[fresh]])
    order = np.argsort(time, kind="stable")
    columns = [
        np.concatenate([getattr(existing, name), getattr(incoming, name)[fresh]])[order]
        for name in FIELDS
    ]
    return Candles(existing.symbol, Timeframe.M5, time[order], *columns)
