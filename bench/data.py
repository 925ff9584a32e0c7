"""Market data benchmark: load 30 coins x 395 days x 6 timeframes from the parquet cache.

Goal (issue 12): <= 2 s from the cache into memory. Builds a cache of synthetic 5m bars in a
temporary folder (or uses ``--cache DIR --source NAME``), then times a cold load through
CachedMarketData: read each coin's 5m parquet file and aggregate it to 15m, 30m, 1h, 4h and 1d.

    .venv/bin/python bench/data.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.adapters.market.checks import CandleRows
from sixbtc.adapters.market.market_data import CachedMarketData
from sixbtc.adapters.market.synthetic import SyntheticMarketData
from sixbtc.domain.timeframe import Timeframe

END = datetime(2025, 1, 1, tzinfo=UTC)
EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))


def build_cache(root: Path, days: int) -> tuple[float, float]:
    """Fill ``root`` with synthetic bars; return the generation and the checked-write times."""
    synthetic = SyntheticMarketData(END, days=days)
    started = time.perf_counter()
    series = [synthetic.candles(s, Timeframe.M5, *EVERYTHING) for s in synthetic.symbols()]
    generated = time.perf_counter() - started
    cache = ParquetCandleCache(root)
    started = time.perf_counter()
    for candles in series:
        cache.write("synthetic", candles.symbol, CandleRows.of(candles), "bench")
    return generated, time.perf_counter() - started


def load(root: Path, source: str) -> tuple[float, int]:
    market = CachedMarketData(ParquetCandleCache(root), source)
    started = time.perf_counter()
    bars = 0
    for symbol in market.symbols():
        for timeframe in Timeframe:
            bars += len(market.candles(symbol, timeframe, *EVERYTHING))
    return time.perf_counter() - started, bars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="an existing cache folder (default: build one)")
    parser.add_argument("--source", default="synthetic")
    parser.add_argument("--days", type=int, default=395)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = args.cache or Path(folder)
        if args.cache is None:
            generated, written = build_cache(root, args.days)
            size = sum(p.stat().st_size for p in root.rglob("*.parquet")) / 1e6
            print(f"generate 30 coins x {args.days} days of 5m bars: {generated:.2f} s")
            print(f"check and write them to the cache:          {written:.2f} s ({size:.0f} MB)")
        timings = []
        for _ in range(args.repeat):
            seconds, bars = load(root, args.source)
            timings.append(seconds)
        print(
            f"load {len(ParquetCandleCache(root).symbols(args.source))} coins x 6 timeframes "
            f"({bars:,} bars) from the cache: best {min(timings):.2f} s, "
            f"worst {max(timings):.2f} s of {args.repeat} (goal <= 2 s)"
        )


if __name__ == "__main__":
    main()
