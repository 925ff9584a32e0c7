"""Import of candle files and Binance kline archives into the cache."""

from __future__ import annotations

import gzip
import io
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sixbtc.adapters.market.aggregation import bar_ms
from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.adapters.market.checks import RejectedData
from sixbtc.adapters.market.files import MalformedFile, import_file, symbol_from_name
from sixbtc.adapters.market.market_data import CachedMarketData
from sixbtc.domain.timeframe import Timeframe

REAL_5M = Path(__file__).parents[3] / ".." / "shared" / "data" / "real-5m"
needs_real_data = pytest.mark.skipif(
    not REAL_5M.is_dir(), reason="../shared/data/real-5m (real candles) is not present"
)
EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
FIELDS = ("time", "open", "high", "low", "close", "volume")


def real_frame(name: str) -> pd.DataFrame:
    frame = pd.read_csv(REAL_5M / name)
    frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.as_unit("ms").astype("int64")
    return frame


@needs_real_data
def test_real_candles_import_and_aggregate_to_every_timeframe(tmp_path):
    cache = ParquetCandleCache(tmp_path)
    files = sorted(REAL_5M.glob("*-5m.csv.gz"))
    assert len(files) == 10
    reports = {
        symbol_from_name(f): import_file(cache, "real", symbol_from_name(f), f) for f in files
    }
    ada = real_frame("ADA-BTC-5m.csv.gz")
    assert reports["ADA"].bars_out == len(ada) == 5720
    gaps = reports["ADA"].issue("gap")
    assert gaps is not None and sum(gaps.missing) > 0
    market = CachedMarketData(cache, "real")
    assert len(market.symbols()) == 10
    for timeframe in Timeframe:
        candles = market.candles("ADA", timeframe, *EVERYTHING)
        step = bar_ms(timeframe)
        assert len(candles) > 0
        assert np.all(candles.time % step == 0)
        first = candles.time[0]
        inside = (ada["time"] >= first) & (ada["time"] < first + step)
        assert candles.open[0] == ada["open"][inside].iloc[0]
        assert candles.high[0] == ada["high"][inside].max()
        assert candles.low[0] == ada["low"][inside].min()
        assert candles.close[0] == ada["close"][inside].iloc[-1]
        assert candles.volume[0] == pytest.approx(ada["volume"][inside].sum())
        assert candles.time[-1] + step <= ada["time"].iloc[-1] + bar_ms(Timeframe.M5)


@needs_real_data
def test_reimporting_the_same_file_changes_nothing(tmp_path):
    cache = ParquetCandleCache(tmp_path)
    path = REAL_5M / "ETH-BTC-5m.csv.gz"
    import_file(cache, "real", "ETH", path)
    before = cache.read("real", "ETH")
    import_file(cache, "real", "ETH", path)
    after = cache.read("real", "ETH")
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name))


def sample_bars(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    close = np.round(100 + np.cumsum(rng.normal(0, 0.2, n)), 2)
    open_ = np.round(np.concatenate([[100.0], close[:-1]]), 2)
    return pd.DataFrame(
        {
            "time": 1_704_067_200_000 + 300_000 * np.arange(n),  # 2024-01-01 00:00 UTC
            "open": open_,
            "high": np.round(np.maximum(open_, close) + 0.05, 2),
            "low": np.round(np.minimum(open_, close) - 0.05, 2),
            "close": close,
            "volume": np.round(rng.random(n) * 50, 3),
        }
    )


def binance_archive(path: Path, bars: pd.DataFrame, header: bool, micro: bool) -> Path:
    """A monthly kline archive as data.binance.vision publishes it: one CSV, 12 columns."""
    unit = 1000 if micro else 1
    out = io.StringIO()
    if header:
        out.write(
            "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
            "taker_buy_volume,taker_buy_quote_volume,ignore\n"
        )
    for bar in bars.itertuples():
        opened = int(bar.time) * unit
        out.write(
            f"{opened},{bar.open:.2f},{bar.high:.2f},{bar.low:.2f},{bar.close:.2f},"
            f"{bar.volume:.3f},{opened + 300_000 * unit - 1},{bar.volume * bar.close:.4f},"
            f"17,{bar.volume / 2:.3f},{bar.volume * bar.close / 2:.4f},0\n"
        )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.with_suffix(".csv").name, out.getvalue())
    return path


@pytest.mark.parametrize("header", [True, False])
@pytest.mark.parametrize("micro", [False, True])
def test_binance_archive_imports_to_the_same_candles(tmp_path, header, micro):
    bars = sample_bars()
    path = binance_archive(tmp_path / "BTCUSDT-5m-2024-01.zip", bars, header, micro)
    cache = ParquetCandleCache(tmp_path / "cache")
    report = import_file(cache, "binanceusdm", symbol_from_name(path), path)
    assert report.issues == () and report.bars_out == len(bars)
    assert cache.symbols("binanceusdm") == ["BTC"]  # the coin downloads store BTC/USDT:USDT as
    stored = cache.read("binanceusdm", "BTC")
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(stored, name), bars[name].to_numpy())


def test_candle_csv_and_parquet_import_to_the_same_candles(tmp_path):
    bars = sample_bars(100)
    iso = bars.assign(time=pd.to_datetime(bars["time"], unit="ms", utc=True))
    csv_path = tmp_path / "ETH-5m.csv.gz"
    with gzip.open(csv_path, "wt") as out:
        iso.assign(time=iso["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(out, index=False)
    parquet_path = tmp_path / "ETH-5m.parquet"
    iso.to_parquet(parquet_path)
    for path, source in ((csv_path, "a"), (parquet_path, "b")):
        cache = ParquetCandleCache(tmp_path / "cache")
        import_file(cache, source, "ETH", path)
        stored = cache.read(source, "ETH")
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(stored, name), bars[name].to_numpy())


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


GOOD_HEAD = "time,open,high,low,close,volume\n2024-01-01T00:00:00Z,1,2,0.5,1.5,10\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("open,high,low,close\n1,2,3,4\n", r"line 1: header .* lacks time, volume"),
        (
            GOOD_HEAD + "2024-01-01T00:05:00Z,1,2,0.5,abc,10\n",
            r"line 3: close is 'abc'; expected a number",
        ),
        (
            GOOD_HEAD + "yesterday,1,2,0.5,1.5,10\n",
            r"line 3: time is 'yesterday'; expected ISO 8601",
        ),
        (GOOD_HEAD + "2024-01-01T00:05:00Z,1,2,0.5\n", r"line 3: 4 fields; expected 6"),
        ("time,open,high,low,close,volume\n", r"no bars; expected at least one"),
        (
            "time,open,high,low,close,volume\n1704067200000000,1,2,0.5,1.5,10\n",
            r"line 2: time is 1704067200000000, microseconds or finer; expected epoch milli",
        ),
    ],
)
def test_malformed_candle_file_is_refused_with_file_line_and_expectation(tmp_path, text, expected):
    path = write_text(tmp_path / "BAD-5m.csv", text)
    cache = ParquetCandleCache(tmp_path / "cache")
    with pytest.raises(MalformedFile, match=expected) as caught:
        import_file(cache, "src", "BAD", path)
    assert str(path) in str(caught.value)
    assert cache.symbols("src") == []


def test_parquet_with_microsecond_integer_times_is_refused_with_its_row(tmp_path):
    bars = sample_bars(10)
    bars["time"] = bars["time"] * 1000
    path = tmp_path / "ETH-5m.parquet"
    bars.to_parquet(path)
    cache = ParquetCandleCache(tmp_path / "cache")
    with pytest.raises(MalformedFile, match=r"ETH-5m.parquet row 0: time is 1704067200000000"):
        import_file(cache, "src", "ETH", path)
    assert cache.symbols("src") == []


@pytest.mark.parametrize(
    ("name", "symbol"),
    [
        ("ADA-BTC-5m.csv.gz", "ADA"),
        ("BTCUSDT-5m-2024-01.zip", "BTC"),
        ("ETHUSDC-5m-2024-01.zip", "ETH"),
        ("ETHBTC-5m-2024-01.zip", "ETHBTC"),
        ("USDT-5m.zip", "USDT"),
        ("BTCUSDT-5m.csv", "BTCUSDT"),
    ],
)
def test_symbol_from_a_file_name(name, symbol):
    assert symbol_from_name(Path("/somewhere") / name) == symbol


def test_malformed_binance_archive_is_refused_and_nothing_is_cached(tmp_path):
    good = binance_archive(tmp_path / "BTCUSDT-5m-2024-01.zip", sample_bars(50), True, False)
    with zipfile.ZipFile(good) as archive:
        text = archive.read("BTCUSDT-5m-2024-01.csv").decode()
    lines = text.splitlines()
    lines[30] = lines[30].replace(",17,", ",17,5,")  # 13 fields on line 31
    bad = tmp_path / "BTCUSDT-1m-2024-02.zip"
    with zipfile.ZipFile(bad, "w") as archive:
        archive.writestr("BTCUSDT-5m-2024-02.csv", "\n".join(lines))
    cache = ParquetCandleCache(tmp_path / "cache")
    with pytest.raises(
        MalformedFile, match=r"BTCUSDT-5m-2024-02.csv line 31: 13 fields; expected the 12"
    ):
        import_file(cache, "src", "BTCUSDT", bad)
    one_minute = sample_bars(10)
    path = tmp_path / "BTCUSDT-1m.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "BTCUSDT-1m.csv",
            "".join(f"{t},1,2,0.5,1,3,{t + 59_999},3,1,1,1,0\n" for t in one_minute["time"]),
        )
    with pytest.raises(
        MalformedFile, match=r"line 1: close time - open time = 59999; expected 299999"
    ):
        import_file(cache, "src", "BTCUSDT", path)
    assert cache.symbols("src") == []


def test_well_formed_file_with_bad_bars_is_rejected_by_the_checks_with_its_lines(tmp_path):
    text = GOOD_HEAD + "2024-01-01T00:05:00Z,1,2,3,1.5,10\n"  # high 2 < low 3 on line 3
    path = write_text(tmp_path / "BAD-5m.csv", text)
    cache = ParquetCandleCache(tmp_path / "cache")
    with pytest.raises(RejectedData, match=r"high_below_low: 1 \(refused\) at line 3"):
        import_file(cache, "src", "BAD", path)
    assert cache.symbols("src") == []
