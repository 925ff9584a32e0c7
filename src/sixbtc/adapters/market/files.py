"""Import of 5m candle files into the cache, for users who already have history.

Two layouts are read, chosen by the file name:

Candle files (``.csv``, ``.csv.gz``, ``.parquet``)
    One row per 5m bar with the columns ``time``, ``open``, ``high``, ``low``, ``close``,
    ``volume`` (any order, other columns ignored; CSV needs a header row). ``time`` is the bar's UTC
    open time: ISO 8601 (``2018-01-10T04:55:00Z``; a time without offset is taken as UTC), integer
    epoch milliseconds (an integer that can only be microseconds is refused), or in parquet a
    timestamp column. The files in ``shared/data/real-5m`` are examples.

Binance monthly kline archives (``.zip``, e.g. ``BTCUSDT-5m-2024-01.zip`` from data.binance.vision)
    A zip holding one CSV with the 12 columns of Binance's REST klines: open time, open, high, low,
    close, volume, close time, quote volume, trades, taker buy base volume, taker buy quote volume,
    ignore; with or without the header row (``open_time,...``); times in milliseconds or, in newer
    archives, microseconds (told apart by their size). Each row's close time must be its open time
    plus 5 minutes minus one unit, which also refuses archives of another interval.

A file that does not follow its layout raises :class:`MalformedFile` naming the file, the line (or
parquet row) and what was expected; a well-formed file then goes through the data checks into the
cache. Either way, nothing of a refused file enters the cache.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.adapters.market.checks import STEP_MS, CandleRows, DataReport
from sixbtc.application.errors import ApplicationError
from sixbtc.domain.candles import COLUMNS, FIELDS

BINANCE_HEADER = "open_time"
BINANCE_COLUMNS = 12
MICROSECONDS_FROM = 10**14  # open times at or above this are microseconds (year 5138 in ms)
ARCHIVE_QUOTES = ("USDT", "USDC")  # quotes of the perpetuals downloads use, left out of names


class MalformedFile(ApplicationError, ValueError):
    """A file does not follow its layout; the message names the file, the line and the
    expectation."""


def import_file(
    cache: ParquetCandleCache, source: str, symbol: str, path: str | Path
) -> DataReport:
    """Read ``path``, check its bars and merge them into the cache as ``symbol`` from ``source``.

    Raises MalformedFile or RejectedData; in both cases the cache is unchanged."""
    rows = read_file(path)
    if len(rows) == 0:
        raise MalformedFile(f"file {path}: no bars; expected at least one row of data")
    return cache.write(source, symbol, rows, origin=str(path))


def symbol_from_name(path: str | Path) -> str:
    """The coin a file name suggests: the part before the first '-' (``ADA-BTC-5m.csv.gz`` ->
    ``ADA``); for a Binance archive without its USDT or USDC quote, so that it joins the coin
    downloads store (``BTCUSDT-5m-2024-01.zip`` -> ``BTC``)."""
    name = Path(path).name
    symbol = name.split("-")[0].split(".")[0]
    if name.lower().endswith(".zip"):
        for quote in ARCHIVE_QUOTES:
            if symbol.endswith(quote) and len(symbol) > len(quote):
                return symbol.removesuffix(quote)
    return symbol


def read_file(path: str | Path) -> CandleRows:
    """The bars of a candle file or a Binance archive, unchecked."""
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".zip"):
        return _read_binance_archive(path)
    if name.endswith(".parquet"):
        return _read_parquet(path)
    if name.endswith((".csv", ".csv.gz")):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(path, "rt", newline="") as text:
            return _read_candle_csv(text, str(path))
    raise MalformedFile(
        f"file {path}: unknown kind; expected .csv, .csv.gz, .parquet or a Binance .zip archive"
    )


def _rows(text: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    """Non-empty CSV rows with their line numbers (1-based)."""
    reader = csv.reader(text)
    for row in reader:
        if row:
            yield reader.line_num, row


def _number(value: str, where: str, column: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise MalformedFile(f"{where}: {column} is {value!r}; expected a number") from None


def _epoch_ms(value: int, where: str) -> int:
    if abs(value) >= MICROSECONDS_FROM:
        raise MalformedFile(
            f"{where}: time is {value}, microseconds or finer; expected epoch milliseconds"
        )
    return value


def _time_ms(value: str, where: str) -> int:
    if value.lstrip("-").isdigit():
        return _epoch_ms(int(value), where)
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedFile(
            f"{where}: time is {value!r}; expected ISO 8601 (2024-01-01T00:05:00Z) or "
            "integer epoch milliseconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def _read_candle_csv(text: io.TextIOBase, name: str) -> CandleRows:
    rows = _rows(text)
    header = next(rows, None)
    if header is None:
        raise MalformedFile(f"file {name} line 1: empty file; expected a header row")
    names = [cell.strip().lower() for cell in header[1]]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise MalformedFile(
            f"file {name} line {header[0]}: header {','.join(header[1])!r} lacks "
            f"{', '.join(missing)}; expected the columns {', '.join(COLUMNS)}"
        )
    index = [names.index(column) for column in COLUMNS]
    width = len(names)
    times, values, lines = [], [], []
    for line, row in rows:
        where = f"file {name} line {line}"
        if len(row) != width:
            raise MalformedFile(f"{where}: {len(row)} fields; expected {width} like the header")
        times.append(_time_ms(row[index[0]].strip(), where))
        values.append([_number(row[i], where, c) for i, c in zip(index[1:], FIELDS, strict=True)])
        lines.append(line)
    return _candle_rows(times, values, lines)


def _candle_rows(times: list[int], values: list[list[float]], lines: list[int]) -> CandleRows:
    table = np.array(values, dtype=np.float64).reshape(len(values), len(FIELDS))
    return CandleRows(np.array(times, dtype=np.int64), *table.T, lines=np.array(lines))


def _read_parquet(path: Path) -> CandleRows:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise MalformedFile(f"file {path}: not a readable parquet file ({error})") from None
    missing = [column for column in COLUMNS if column not in table.column_names]
    if missing:
        raise MalformedFile(
            f"file {path}: columns {', '.join(table.column_names)} lack {', '.join(missing)}; "
            f"expected the columns {', '.join(COLUMNS)}"
        )
    columns = []
    for name in COLUMNS:
        column = table.column(name)
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise MalformedFile(f"file {path} row {row}: {name} is empty; expected a value")
        kind = column.type
        if name == "time" and pa.types.is_timestamp(kind):
            column = column.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
        elif name == "time" and not pa.types.is_integer(kind):
            raise MalformedFile(
                f"file {path}: column time has type {kind}; expected a timestamp or integer "
                "epoch milliseconds"
            )
        elif name == "time":
            values = column.to_numpy()
            too_large = np.flatnonzero(np.abs(values) >= MICROSECONDS_FROM)
            if len(too_large):
                _epoch_ms(int(values[too_large[0]]), f"file {path} row {too_large[0]}")
        elif name != "time" and not (pa.types.is_floating(kind) or pa.types.is_integer(kind)):
            raise MalformedFile(f"file {path}: column {name} has type {kind}; expected numbers")
        columns.append(column.to_numpy())
    return CandleRows(*columns)


def _read_binance_archive(path: Path) -> CandleRows:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise MalformedFile(
            f"file {path}: not a zip archive; expected a Binance kline archive"
        ) from None
    with archive:
        members = [m for m in archive.namelist() if m.lower().endswith(".csv")]
        if len(members) != 1:
            raise MalformedFile(
                f"file {path}: holds {len(members)} CSV files; expected exactly one"
            )
        with archive.open(members[0]) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            return _read_binance_csv(text, f"{path}:{members[0]}")


def _read_binance_csv(text: io.TextIOBase, name: str) -> CandleRows:
    times, values, lines = [], [], []
    unit = 0
    for line, row in _rows(text):
        where = f"file {name} line {line}"
        if len(row) != BINANCE_COLUMNS:
            raise MalformedFile(
                f"{where}: {len(row)} fields; expected the {BINANCE_COLUMNS} Binance kline columns"
            )
        if not times and not row[0].strip().isdigit():
            if row[0].strip() != BINANCE_HEADER:
                raise MalformedFile(
                    f"{where}: open time is {row[0]!r}; expected an integer time or the header "
                    f"row starting with {BINANCE_HEADER}"
                )
            continue
        opened, closed = (
            _integer(row[i], where, c) for i, c in ((0, "open time"), (6, "close time"))
        )
        unit = unit or (1000 if opened >= MICROSECONDS_FROM else 1)
        if closed - opened != STEP_MS * unit - 1:
            raise MalformedFile(
                f"{where}: close time - open time = {closed - opened}; expected "
                f"{STEP_MS * unit - 1} (5m bars, {'us' if unit > 1 else 'ms'} like the first row)"
            )
        times.append(opened // unit)
        values.append([_number(row[i], where, c) for i, c in enumerate(FIELDS, start=1)])
        lines.append(line)
    return _candle_rows(times, values, lines)


def _integer(value: str, where: str, column: str) -> int:
    if not value.strip().isdigit():
        raise MalformedFile(f"{where}: {column} is {value!r}; expected an integer time")
    return int(value)
