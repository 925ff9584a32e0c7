"""Data checks on bars entering the cache, and the parquet cache itself."""

from __future__ import annotations

import numpy as np
import pytest

from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.adapters.market.checks import STEP_MS, CandleRows, RejectedData, check
from sixbtc.adapters.market.market_data import CachedMarketData
from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.domain.timeframe import Timeframe

T0 = 1_700_000_000_000 // STEP_MS * STEP_MS


def rows(n: int = 12, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 10 + rng.random(n)
    return {
        "time": T0 + STEP_MS * np.arange(n),
        "open": close - 0.01,
        "high": close + 0.5,
        "low": close - 0.5,
        "close": close,
        "volume": rng.random(n) * 100,
    }


def batch(columns: dict[str, np.ndarray], lines: bool = False) -> CandleRows:
    n = len(columns["time"])
    return CandleRows(**columns, lines=np.arange(2, n + 2) if lines else None)


def test_clean_bars_pass_without_issues():
    candles, report = check(batch(rows()), "BTC", "test")
    assert report.issues == ()
    assert not report.rejected
    assert len(candles) == report.bars_out == 12


def test_gap_is_kept_and_reported_with_its_size_and_place():
    columns = rows(12)
    keep = np.r_[0:4, 7:12]
    candles, report = check(batch({k: v[keep] for k, v in columns.items()}), "BTC", "test")
    gap = report.issue("gap")
    assert gap is not None and gap.count == 1
    assert gap.rows == (4,)
    assert gap.times == (int(T0 + 4 * STEP_MS),)
    assert gap.missing == (3,)
    assert not report.rejected and len(candles) == 9
    assert "gap: 1 (kept)" in str(report) and "3 bars missing" in str(report)


def test_exact_duplicate_is_removed_and_the_report_says_so():
    columns = rows(6)
    order = [0, 1, 2, 2, 3, 4, 5, 5]
    candles, report = check(batch({k: v[order] for k, v in columns.items()}), "BTC", "t")
    duplicate = report.issue("duplicate")
    assert duplicate.rows == (3, 7)
    assert duplicate.repaired
    assert len(candles) == 6 and report.bars_in == 8 and report.bars_out == 6
    assert "duplicate: 2 (removed)" in str(report)


@pytest.mark.parametrize(
    ("kind", "spoil"),
    [
        ("conflicting_duplicate", lambda c: c["time"].__setitem__(5, c["time"][4])),
        ("non_increasing_time", lambda c: c["time"].__setitem__(5, c["time"][2])),
        ("misaligned_time", lambda c: c["time"].__setitem__(5, c["time"][5] + 1000)),
        ("non_finite_price", lambda c: c["close"].__setitem__(5, np.nan)),
        ("non_finite_price", lambda c: c["high"].__setitem__(5, np.inf)),
        ("non_positive_price", lambda c: c["low"].__setitem__(5, 0.0)),
        ("high_below_low", lambda c: c["high"].__setitem__(5, c["low"][5] - 1)),
        ("outside_range", lambda c: c["open"].__setitem__(5, c["high"][5] + 0.01)),
        ("outside_range", lambda c: c["close"].__setitem__(5, c["low"][5] - 0.01)),
        ("bad_volume", lambda c: c["volume"].__setitem__(5, -1.0)),
        ("bad_volume", lambda c: c["volume"].__setitem__(5, np.inf)),
    ],
)
def test_each_defect_is_refused_with_count_row_and_line(kind, spoil):
    columns = rows(10)
    spoil(columns)
    candles, report = check(batch(columns, lines=True), "BTC", "file.csv")
    issue = report.issue(kind)
    assert candles is None and report.rejected and report.bars_out == 0
    assert [found.kind for found in report.issues if found.refused] == [kind]
    assert issue.count == 1 and issue.rows == (5,) and issue.lines == (7,)
    assert f"{kind}: 1 (refused) at line 7" in str(report)
    assert "REJECTED" in str(report)


def test_cache_round_trip_and_incremental_merge(tmp_path):
    cache = ParquetCandleCache(tmp_path)
    columns = rows(20)
    first = {k: v[:12] for k, v in columns.items()}
    second = {k: v[8:] for k, v in columns.items()}  # overlaps 4 bars with the same values
    cache.write("binanceusdm", "BTC", batch(first), "download")
    cache.write("binanceusdm", "BTC", batch(second), "download")
    stored = cache.read("binanceusdm", "BTC")
    np.testing.assert_array_equal(stored.time, columns["time"])
    np.testing.assert_array_equal(stored.close, columns["close"])
    assert cache.symbols("binanceusdm") == ["BTC"]
    (holding,) = cache.holdings("binanceusdm")
    assert (holding.bars, holding.first, holding.gaps) == (20, int(T0), 0)


def test_rejected_batch_leaves_the_cache_untouched(tmp_path):
    cache = ParquetCandleCache(tmp_path)
    cache.write("src", "BTC", batch(rows(10)), "first")
    before = cache.path("src", "BTC").read_bytes()
    spoiled = rows(10, seed=1)  # same times, other values: contradicts the cache
    with pytest.raises(RejectedData) as caught:
        cache.write("src", "BTC", batch(spoiled, lines=True), "second.csv")
    assert caught.value.report.issue("conflicts_with_cache").count == 10
    nan = rows(3)
    nan["time"] = nan["time"] + 100 * STEP_MS
    nan["open"][1] = np.nan
    with pytest.raises(RejectedData):
        cache.write("src", "BTC", batch(nan), "third")
    assert cache.path("src", "BTC").read_bytes() == before
    with pytest.raises(RejectedData):
        cache.write("src", "ETH", batch(nan), "third")
    assert cache.symbols("src") == ["BTC"]


def test_cache_refuses_unsafe_names(tmp_path):
    with pytest.raises(ValueError, match=r"symbol '\.\./x'"):
        ParquetCandleCache(tmp_path).path("src", "../x")


def test_cached_market_data_serves_aggregates_and_refuses_unknown_symbols(tmp_path):
    from datetime import UTC, datetime

    cache = ParquetCandleCache(tmp_path)
    columns = rows(48)
    columns["time"] = columns["time"] - columns["time"][0] % (4 * 3_600_000)
    cache.write("src", "BTC", batch(columns), "test")
    market = CachedMarketData(cache, "src")
    assert market.symbols() == ["BTC"]
    start = datetime(2000, 1, 1, tzinfo=UTC)
    end = datetime(2100, 1, 1, tzinfo=UTC)
    hours = market.candles("BTC", Timeframe.H1, start, end)
    assert len(hours) == 4
    assert hours.high[0] == columns["high"][:12].max()
    with pytest.raises(MarketDataUnavailable, match="ETH"):
        market.candles("ETH", Timeframe.H1, start, end)


def test_report_of_bars_beyond_the_calendar_still_prints():
    columns = rows(3)
    start = 10**17 // STEP_MS * STEP_MS  # aligned, in the year 3 million
    columns["time"] = start + STEP_MS * np.array([0, 1, 5])
    _, report = check(batch(columns), "BTC", "test")
    assert f"gap: 1 (kept) at row 2 ({start + 2 * STEP_MS} ms since 1970)" in str(report)
