"""CcxtMarketData against ccxt's recorded Binance USD-M responses, with no network.

The fake transport answers in exactly the recorded format (``response/binance.json``: the
"swap ohlcv" kline rows and the "public spot ticker" ticker) and composes what the recordings lack:
several pages, a rate-limit error, an empty last page.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import ccxt
import numpy as np
import pytest

from sixbtc.adapters.ccxt.market_data import CcxtMarketData, ccxt_exchange
from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.domain.timeframe import Timeframe

FIXTURES = Path(__file__).parents[3] / ".." / "shared" / "fixtures" / "ccxt"
pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="../shared/fixtures/ccxt (ccxt recordings) is not present"
)
STEP = 300_000
NOW = datetime(2024, 4, 10, 12, 2, 30, tzinfo=UTC)  # the 12:00 bar is still forming
NOW_MS = int(NOW.timestamp() * 1000)
FORMING = NOW_MS // STEP * STEP


def recorded(method: str, description: str) -> dict:
    data = json.loads((FIXTURES / "response" / "binance.json").read_text())
    return next(c for c in data["methods"][method] if c["description"] == description)


class RecordedBinance:
    """A Binance USD-M transport for ccxt's ``exchange.fetch``: klines and 24h tickers built from
    the recorded ones; ``failures`` are raised by the next calls, in order."""

    def __init__(self, bars: dict[str, np.ndarray], volumes: dict[str, float] | None = None):
        self.bars = bars  # exchange id (BTCUSDT) -> rows of time, open, high, low, close, volume
        self.volumes = volumes or {}
        self.failures: list[Exception] = []
        self.kline_requests: list[dict[str, str]] = []
        self.pages: list[int] = []
        self.kline_template = recorded("fetchOHLCV", "swap ohlcv")["httpResponse"][0]
        self.ticker_template = recorded("fetchTicker", "public spot ticker")["httpResponse"]

    def __call__(self, url, method="GET", headers=None, body=None):
        if self.failures:
            raise self.failures.pop(0)
        parsed = urlparse(url)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if parsed.path == "/fapi/v1/klines":
            return self.klines(query)
        if parsed.path == "/fapi/v1/ticker/24hr":
            return [self.ticker(symbol, volume) for symbol, volume in self.volumes.items()]
        raise AssertionError(f"unexpected request {method} {url}")

    def klines(self, query: dict[str, str]) -> list[list]:
        assert query["interval"] == "5m"
        self.kline_requests.append(query)
        rows = self.bars.get(query["symbol"], np.empty((0, 6)))
        rows = rows[rows[:, 0] >= int(query["startTime"])][: int(query["limit"])]
        self.pages.append(len(rows))
        return [self.kline(row) for row in rows]

    def kline(self, row: np.ndarray) -> list:
        """One kline in the recorded layout: same fields, same JSON types (ints and strings)."""
        opened = int(row[0])
        quote_volume = row[4] * row[5]
        values = [opened, *row[1:5], row[5], opened + STEP - 1, quote_volume, 42,
                  row[5] / 2, quote_volume / 2, 0]  # fmt: skip
        out = []
        for template, value in zip(self.kline_template, values, strict=True):
            if isinstance(template, int):
                out.append(int(value))
            else:
                out.append(f"{value:.2f}" if 1 <= len(out) <= 4 else f"{value:.3f}")
        return out

    def ticker(self, exchange_symbol: str, quote_volume: float) -> dict:
        ticker = copy.deepcopy(self.ticker_template)
        for key in ("bidPrice", "bidQty", "askPrice", "askQty"):  # USD-M 24h tickers lack them
            ticker.pop(key)
        ticker["symbol"] = exchange_symbol
        ticker["quoteVolume"] = f"{quote_volume:.8f}"
        return ticker


def exchange(transport: RecordedBinance) -> ccxt.Exchange:
    markets = json.loads((FIXTURES / "markets" / "binance.json").read_text())
    ex = ccxt_exchange("binanceusdm")
    ex.set_markets(list(markets.values()))
    ex.fetch = transport
    return ex


def history(start_ms: int, end_ms: int, seed: int = 1) -> np.ndarray:
    """Bars with open times in [start_ms, end_ms], prices with 2 decimals, volumes with 3."""
    time = np.arange(start_ms, end_ms + 1, STEP)
    rng = np.random.default_rng(seed)
    close = np.round(60_000 + np.cumsum(rng.normal(0, 30, len(time))), 2)
    open_ = np.concatenate([[60_000.0], close[:-1]])
    high = np.maximum(open_, close) + 5
    low = np.minimum(open_, close) - 5
    volume = np.round(rng.random(len(time)) * 10, 3)
    return np.column_stack([time, open_, high, low, close, volume])


def adapter(tmp_path, transport, clock=None, **options) -> CcxtMarketData:
    options.setdefault("history_days", 10)
    return CcxtMarketData(
        exchange(transport),
        ParquetCandleCache(tmp_path),
        clock or ManualClock(NOW),
        sleep=options.pop("sleep", lambda seconds: None),
        **options,
    )


def test_recorded_swap_case_replays_through_the_fake_transport():
    case = recorded("fetchOHLCV", "swap ohlcv")
    ex = exchange(RecordedBinance({}))
    ex.fetch = lambda url, method="GET", headers=None, body=None: case["httpResponse"]
    assert ex.fetch_ohlcv(*case["input"]) == case["parsedResponse"]


def test_download_pages_through_history_and_never_stores_the_forming_bar(tmp_path):
    start = FORMING - 10 * 86_400_000
    bars = history(start, FORMING)  # the exchange also sends the forming 12:00 bar
    transport = RecordedBinance({"BTCUSDT": bars})
    market = adapter(tmp_path, transport, symbols=["BTC"])
    report = market.update("BTC")
    assert transport.pages == [1000, 1000, 881]  # the third page ends with the forming bar
    assert [int(q["startTime"]) for q in transport.kline_requests[:3]] == [
        start,
        start + 1000 * STEP,
        start + 2000 * STEP,
    ]
    assert all(q["symbol"] == "BTCUSDT" and q["limit"] == "1000" for q in transport.kline_requests)
    stored = market.cache.read("binanceusdm", "BTC")
    assert report.bars_out == len(stored) == 2880
    assert stored.time[-1] == FORMING - STEP
    np.testing.assert_array_equal(stored.close, bars[:-1, 4])
    np.testing.assert_array_equal(stored.volume, bars[:-1, 5])


def test_rate_limit_error_is_retried_after_a_backoff(tmp_path):
    transport = RecordedBinance({"BTCUSDT": history(FORMING - 86_400_000, FORMING)})
    transport.failures = [ccxt.RateLimitExceeded("binanceusdm 429 Too Many Requests")]
    sleeps: list[float] = []
    market = adapter(tmp_path, transport, symbols=["BTC"], sleep=sleeps.append, history_days=1)
    market.update("BTC")
    assert sleeps == [1.0]
    assert len(market.cache.read("binanceusdm", "BTC")) == 288


def test_empty_page_ends_the_download_of_a_coin_that_stopped_trading(tmp_path):
    last = FORMING - 24 * STEP  # delisted two hours ago
    transport = RecordedBinance({"BTCUSDT": history(FORMING - 86_400_000, last)})
    market = adapter(tmp_path, transport, symbols=["BTC"], history_days=1)
    market.update("BTC")
    assert transport.pages == [265, 0]
    assert market.cache.read("binanceusdm", "BTC").time[-1] == last


def test_candles_update_the_cache_incrementally(tmp_path):
    truth = history(FORMING - 86_400_000, FORMING + 3_600_000)
    transport = RecordedBinance({"BTCUSDT": truth})
    clock = ManualClock(NOW)
    market = adapter(tmp_path, transport, clock=clock, symbols=["BTC/USDT:USDT"], history_days=1)
    assert market.symbols() == ["BTC"]
    far = datetime(2100, 1, 1, tzinfo=UTC)
    first = market.candles("BTC", Timeframe.H1, NOW - timedelta(days=2), far)
    assert len(first) == 24 and first.time[-1] == FORMING - 3_600_000
    requests = len(transport.kline_requests)
    market.candles("BTC", Timeframe.M5, NOW - timedelta(days=2), far)  # nothing new: no request
    assert len(transport.kline_requests) == requests
    clock.advance(timedelta(hours=1))
    later = market.candles("BTC", Timeframe.H1, NOW - timedelta(days=2), far)
    assert int(transport.kline_requests[requests]["startTime"]) == FORMING
    assert len(later) == 25
    stored = market.cache.read("binanceusdm", "BTC")
    assert len(stored) == 300 and np.all(np.diff(stored.time) == STEP)


def test_ccxt_errors_become_market_data_unavailable(tmp_path):
    transport = RecordedBinance({"BTCUSDT": history(FORMING - 86_400_000, FORMING)})
    transport.failures = [ccxt.ExchangeNotAvailable("maintenance")] * 4
    sleeps: list[float] = []
    market = adapter(tmp_path, transport, symbols=["BTC"], sleep=sleeps.append, retries=3)
    with pytest.raises(
        MarketDataUnavailable, match="ExchangeNotAvailable maintenance; gave up after 4"
    ):
        market.update("BTC")
    assert sleeps == [1.0, 2.0, 4.0]
    transport.failures = [ccxt.BadSymbol("binanceusdm does not have market symbol")]
    with pytest.raises(MarketDataUnavailable, match="BadSymbol"):
        market.update("BTC")
    with pytest.raises(MarketDataUnavailable, match="no linear perpetual for 'NOPE'"):
        market.update("NOPE")
    assert market.cache.symbols("binanceusdm") == []


def test_coins_are_the_perpetuals_with_the_largest_quote_volume(tmp_path):
    volumes = {"BTCUSDT": 9e9, "ETHUSDT": 5e9, "DOGEUSDT": 7e9, "XRPUSDT": 1e9,
               "BTCUSD_PERP": 1e12, "ETHBTC": 1e13}  # fmt: skip
    market = adapter(tmp_path, RecordedBinance({}, volumes), coins=3)
    assert market.symbols() == ["BTC", "DOGE", "ETH"]


def test_unknown_exchange_id_is_refused():
    with pytest.raises(ValueError, match="'nope'; expected a ccxt exchange id"):
        ccxt_exchange("nope")


def test_candles_near_the_end_are_only_those_closed_by_it(tmp_path):
    transport = RecordedBinance({"BTCUSDT": history(FORMING - 2 * 86_400_000, FORMING)})
    market = adapter(tmp_path, transport, symbols=["BTC"], history_days=2)
    start = NOW - timedelta(days=2)
    half_past = datetime(2024, 4, 10, 11, 30, tzinfo=UTC)
    expected_last = {  # open time of the last candle closed by NOW (12:02:30) and by 11:30
        Timeframe.M5: ("11:55", "11:25"),
        Timeframe.M15: ("11:45", "11:15"),
        Timeframe.M30: ("11:30", "11:00"),
        Timeframe.H1: ("11:00", "10:00"),
        Timeframe.H4: ("08:00", "04:00"),
        Timeframe.D1: ("2024-04-09", "2024-04-09"),
    }
    for timeframe, (at_now, at_half_past) in expected_last.items():
        for end, last in ((NOW, at_now), (half_past, at_half_past)):
            candles = market.candles("BTC", timeframe, start, end)
            opened = datetime.fromtimestamp(candles.time[-1] / 1000, UTC)
            label = opened.strftime("%Y-%m-%d" if timeframe is Timeframe.D1 else "%H:%M")
            assert label == last, (timeframe, end)
