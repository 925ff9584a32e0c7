"""CcxtMarketData against ccxt's recorded Binance USD-M and Hyperliquid responses, with no network.

The fake transports replace ccxt's ``exchange.fetch`` and answer in exactly the recorded formats:
Binance USD-M kline rows and 24h tickers (``response/binance.json``, "swap ohlcv" and "public spot
ticker"), Hyperliquid candle snapshots (``response/hyperliquid.json``, "btc ohlcv"). They compose
what the recordings lack: several pages, a rate-limit error, an empty last page, a server clock (a
venue serves bars up to the one still forming) and Hyperliquid's short memory (the 5,000 most
recent candles).
"""

from __future__ import annotations

import copy
import json
import logging
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
DAY = 86_400_000
NOW = datetime(2024, 4, 10, 12, 2, 30, tzinfo=UTC)  # the 12:00 bar is still forming
NOW_MS = int(NOW.timestamp() * 1000)
FORMING = NOW_MS // STEP * STEP
HYPERLIQUID_MEMORY = 5000  # candles a Hyperliquid candle snapshot reaches back


def recorded(venue: str, method: str, description: str) -> dict:
    data = json.loads((FIXTURES / "response" / f"{venue}.json").read_text())
    return next(c for c in data["methods"][method] if c["description"] == description)


def typed_like(template: object, value: float, decimals: int) -> object:
    """``value`` with the JSON type the recording uses for this field (integer or text)."""
    return int(value) if isinstance(template, int) else f"{value:.{decimals}f}"


class RecordedVenue:
    """A fake transport for ccxt's ``exchange.fetch``.

    ``bars`` maps a coin (``BTC``) to rows of open time, open, high, low, close, volume. The venue
    serves the rows opened by its clock's time (the last one still forming); ``failures`` are
    raised by the next calls, in order. ``starts`` and ``pages`` record each candle request's
    start time and the number of candles answered.
    """

    def __init__(self, bars: dict[str, np.ndarray], clock: ManualClock | None = None) -> None:
        self.bars = bars
        self.clock = clock or ManualClock(NOW)
        self.failures: list[Exception] = []
        self.starts: list[int] = []
        self.pages: list[int] = []

    def __call__(self, url, method="GET", headers=None, body=None):
        if self.failures:
            raise self.failures.pop(0)
        return self.answer(url, method, body)

    def answer(self, url: str, method: str, body: str | None) -> object:
        raise NotImplementedError

    def served(self, coin: str, start: int) -> np.ndarray:
        rows = self.bars.get(coin, np.empty((0, 6)))
        now = int(self.clock.now().timestamp() * 1000)
        rows = self.retained(rows[rows[:, 0] <= now])
        self.starts.append(start)
        return rows[rows[:, 0] >= start]

    def retained(self, rows: np.ndarray) -> np.ndarray:
        return rows


class RecordedBinance(RecordedVenue):
    """Binance USD-M: ``GET /fapi/v1/klines`` and ``/fapi/v1/ticker/24hr``; ``volumes`` maps
    exchange symbols (``BTCUSDT``) to 24h quote volumes."""

    def __init__(self, bars, clock=None, volumes: dict[str, float] | None = None) -> None:
        super().__init__(bars, clock)
        self.volumes = volumes or {}
        self.queries: list[dict[str, str]] = []
        self.kline_template = recorded("binance", "fetchOHLCV", "swap ohlcv")["httpResponse"][0]
        self.ticker_template = recorded("binance", "fetchTicker", "public spot ticker")[
            "httpResponse"
        ]

    def answer(self, url, method, body):
        parsed = urlparse(url)
        query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
        if parsed.path == "/fapi/v1/klines":
            assert query["interval"] == "5m" and query["symbol"].endswith("USDT")
            self.queries.append(query)
            rows = self.served(query["symbol"].removesuffix("USDT"), int(query["startTime"]))
            rows = rows[: int(query["limit"])]
            self.pages.append(len(rows))
            return [self.kline(row) for row in rows]
        if parsed.path == "/fapi/v1/ticker/24hr":
            return [self.ticker(symbol, volume) for symbol, volume in self.volumes.items()]
        raise AssertionError(f"unexpected request {method} {url}")

    def kline(self, row: np.ndarray) -> list:
        """One kline in the recorded layout: same fields, same JSON types (ints and strings)."""
        opened = int(row[0])
        quote_volume = row[4] * row[5]
        values = [opened, *row[1:5], row[5], opened + STEP - 1, quote_volume, 42,
                  row[5] / 2, quote_volume / 2, 0]  # fmt: skip
        decimals = [0, 2, 2, 2, 2, 3, 0, 5, 0, 3, 5, 0]
        return [
            typed_like(template, value, places)
            for template, value, places in zip(self.kline_template, values, decimals, strict=True)
        ]

    def ticker(self, exchange_symbol: str, quote_volume: float) -> dict:
        ticker = copy.deepcopy(self.ticker_template)
        for key in ("bidPrice", "bidQty", "askPrice", "askQty"):  # USD-M 24h tickers lack them
            ticker.pop(key)
        ticker["symbol"] = exchange_symbol
        ticker["quoteVolume"] = f"{quote_volume:.8f}"
        return ticker


class RecordedHyperliquid(RecordedVenue):
    """Hyperliquid: ``POST /info`` candle snapshots of the coin's last 5,000 candles between the
    body's ``startTime`` and ``endTime``."""

    def __init__(self, bars, clock=None) -> None:
        super().__init__(bars, clock)
        self.bodies: list[dict] = []
        self.candle_template = recorded("hyperliquid", "fetchOHLCV", "btc ohlcv")["httpResponse"][0]

    def answer(self, url, method, body):
        assert (method, urlparse(url).path) == ("POST", "/info"), (method, url)
        payload = json.loads(body)
        assert payload["type"] == "candleSnapshot", payload
        self.bodies.append(payload)
        request = payload["req"]
        rows = self.served(request["coin"], int(request["startTime"]))
        rows = rows[rows[:, 0] <= int(request["endTime"])][:HYPERLIQUID_MEMORY]
        self.pages.append(len(rows))
        return [self.candle(request["coin"], request["interval"], row) for row in rows]

    def retained(self, rows: np.ndarray) -> np.ndarray:
        return rows[-HYPERLIQUID_MEMORY:]

    def candle(self, coin: str, interval: str, row: np.ndarray) -> dict:
        """One candle in the recorded layout: same keys in the same order, same JSON types."""
        opened = int(row[0])
        values = {"T": (opened + STEP - 1, 0), "c": (row[4], 2), "h": (row[2], 2),
                  "l": (row[3], 2), "n": (42, 0), "o": (row[1], 2), "t": (opened, 0),
                  "v": (row[5], 3)}  # fmt: skip
        out = {}
        for key, template in self.candle_template.items():
            if key in values:
                out[key] = typed_like(template, *values[key])
            else:
                out[key] = {"i": interval, "s": coin}[key]
        return out


def exchange(transport: RecordedVenue) -> ccxt.Exchange:
    """The venue's ccxt exchange on its recorded market snapshot, talking to ``transport``."""
    if isinstance(transport, RecordedBinance):
        ex = ccxt_exchange("binanceusdm")
        markets = json.loads((FIXTURES / "markets" / "binance.json").read_text())
    else:
        ex = ccxt_exchange("hyperliquid")
        markets = json.loads((FIXTURES / "markets" / "hyperliquid.json").read_text())
        for market in markets.values():  # current ccxt sends a perpetual's baseName (README)
            if market["swap"]:
                market["baseName"] = market["info"]["name"]
    ex.set_markets(list(markets.values()))
    ex.fetch = transport
    return ex


VENUES = {"binanceusdm": RecordedBinance, "hyperliquid": RecordedHyperliquid}


@pytest.fixture(params=list(VENUES))
def venue(request):
    """The fake transport class of each venue."""
    return VENUES[request.param]


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


def adapter(tmp_path, transport: RecordedVenue, **options) -> CcxtMarketData:
    options.setdefault("history_days", 10)
    return CcxtMarketData(
        exchange(transport),
        ParquetCandleCache(tmp_path),
        transport.clock,
        sleep=options.pop("sleep", lambda seconds: None),
        **options,
    )


@pytest.mark.parametrize(
    ("venue_id", "description"), [("binance", "swap ohlcv"), ("hyperliquid", "btc ohlcv")]
)
def test_recorded_perpetual_case_replays_through_the_fake_transport(venue_id, description):
    case = recorded(venue_id, "fetchOHLCV", description)
    transport = RecordedBinance({}) if venue_id == "binance" else RecordedHyperliquid({})
    ex = exchange(transport)
    ex.fetch = lambda url, method="GET", headers=None, body=None: case["httpResponse"]
    assert ex.fetch_ohlcv(*case["input"]) == case["parsedResponse"]


def test_download_pages_through_history_and_never_stores_the_forming_bar(tmp_path, venue):
    start = FORMING - 10 * DAY
    bars = history(start, FORMING)  # the venue also sends the forming 12:00 bar
    transport = venue({"BTC": bars})
    market = adapter(tmp_path, transport, symbols=["BTC"])
    report = market.update("BTC")
    # Binance answers ``limit`` bars; Hyperliquid all it has since the start, ccxt keeps ``limit``
    assert transport.pages == {RecordedBinance: [1000, 1000, 881],
                               RecordedHyperliquid: [2881, 1881, 881]}[venue]  # fmt: skip
    assert transport.starts == [start, start + 1000 * STEP, start + 2000 * STEP]
    stored = market.cache.read(transport_source(transport), "BTC")
    assert report.bars_out == len(stored) == 2880
    assert stored.time[-1] == FORMING - STEP
    np.testing.assert_array_equal(stored.close, bars[:-1, 4])
    np.testing.assert_array_equal(stored.volume, bars[:-1, 5])


def transport_source(transport: RecordedVenue) -> str:
    return "binanceusdm" if isinstance(transport, RecordedBinance) else "hyperliquid"


def test_binance_requests_are_usdm_klines_of_the_perpetual(tmp_path):
    transport = RecordedBinance({"BTC": history(FORMING - DAY, FORMING)})
    adapter(tmp_path, transport, symbols=["BTC"], history_days=1).update("BTC")
    (query,) = transport.queries
    assert query == {
        "interval": "5m",
        "limit": "1000",
        "symbol": "BTCUSDT",
        "startTime": str(FORMING - DAY),
    }


def test_hyperliquid_requests_are_candle_snapshots_of_the_perpetual(tmp_path):
    transport = RecordedHyperliquid({"BTC": history(FORMING - DAY, FORMING)})
    market = adapter(tmp_path, transport, history_days=1)
    assert market.update("BTC").bars_out == 288  # BTC -> BTC/USDC:USDC, its only perpetual
    (body,) = transport.bodies
    assert body["req"]["coin"] == "BTC" and body["req"]["interval"] == "5m"
    assert body["req"]["startTime"] == FORMING - DAY


def test_hyperliquid_short_memory_gives_what_it_has_with_a_warning(tmp_path, caplog):
    bars = history(FORMING - 30 * DAY, FORMING)
    transport = RecordedHyperliquid({"BTC": bars})
    market = adapter(tmp_path, transport, symbols=["BTC"], history_days=30, page_limit=5000)
    with caplog.at_level(logging.WARNING):
        report = market.update("BTC")
    assert report.bars_out == HYPERLIQUID_MEMORY - 1  # its 5,000 candles but the forming one
    stored = market.cache.read("hyperliquid", "BTC")
    assert stored.time[0] == bars[-HYPERLIQUID_MEMORY, 0]
    assert "history starts 12.6 days after the 30 days asked for" in caplog.text


def test_rate_limit_error_is_retried_after_a_backoff(tmp_path, venue):
    transport = venue({"BTC": history(FORMING - DAY, FORMING)})
    transport.failures = [ccxt.RateLimitExceeded("429 Too Many Requests")]
    sleeps: list[float] = []
    market = adapter(tmp_path, transport, symbols=["BTC"], sleep=sleeps.append, history_days=1)
    market.update("BTC")
    assert sleeps == [1.0]
    assert len(market.cache.read(transport_source(transport), "BTC")) == 288


def test_empty_page_ends_the_download_of_a_coin_that_stopped_trading(tmp_path, venue):
    last = FORMING - 24 * STEP  # delisted two hours ago
    transport = venue({"BTC": history(FORMING - DAY, last)})
    market = adapter(tmp_path, transport, symbols=["BTC"], history_days=1)
    market.update("BTC")
    assert transport.pages == [265, 0]
    assert market.cache.read(transport_source(transport), "BTC").time[-1] == last


def test_candles_update_the_cache_incrementally(tmp_path, venue):
    clock = ManualClock(NOW)
    transport = venue({"BTC": history(FORMING - DAY, FORMING + 3_600_000)}, clock)
    perpetual = "BTC/USDT:USDT" if venue is RecordedBinance else "BTC/USDC:USDC"
    market = adapter(tmp_path, transport, symbols=[perpetual], history_days=1)
    assert market.symbols() == ["BTC"]
    far = datetime(2100, 1, 1, tzinfo=UTC)
    first = market.candles("BTC", Timeframe.H1, NOW - timedelta(days=2), far)
    assert len(first) == 24 and first.time[-1] == FORMING - 3_600_000
    requests = len(transport.starts)
    market.candles("BTC", Timeframe.M5, NOW - timedelta(days=2), far)  # nothing new: no request
    assert len(transport.starts) == requests
    clock.advance(timedelta(hours=1))
    later = market.candles("BTC", Timeframe.H1, NOW - timedelta(days=2), far)
    assert transport.starts[requests] == FORMING
    assert len(later) == 25
    stored = market.cache.read(transport_source(transport), "BTC")
    assert len(stored) == 300 and np.all(np.diff(stored.time) == STEP)


def test_candles_near_the_end_are_only_those_closed_by_it(tmp_path, venue):
    transport = venue({"BTC": history(FORMING - 2 * DAY, FORMING)})
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


def test_ccxt_errors_become_market_data_unavailable(tmp_path):
    transport = RecordedBinance({"BTC": history(FORMING - DAY, FORMING)})
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
    market = adapter(tmp_path, RecordedBinance({}, volumes=volumes), coins=3)
    assert market.symbols() == ["BTC", "DOGE", "ETH"]


def test_unknown_exchange_id_is_refused():
    with pytest.raises(ValueError, match="'nope'; expected a ccxt exchange id"):
        ccxt_exchange("nope")
