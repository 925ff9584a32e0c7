"""History from any ccxt exchange, kept in the parquet cache and served from it.

Coins are named by their base currency (``BTC``); each maps to the exchange's linear perpetual on
it (``BTC/USDT:USDT`` on Binance USD-M, USDT preferred over USDC), or to the full ccxt symbol given
in the configured list. Downloads page through ``fetch_ohlcv`` (5m bars, ``page_limit`` per request)
from the bar after the last cached one (or ``history_days`` back) until the last closed bar, an
empty page or a page that does not advance; the still-forming bar is never stored. A venue that
keeps a short history (Hyperliquid: the 5,000 most recent candles) yields what it has, with a
warning naming the missing days. ccxt's own
throttle spaces the requests; a network error or a rate-limit answer is retried after
``backoff_seconds * 2**attempt``, up to ``retries`` times. Every ccxt error leaves this module as a
MarketDataUnavailable naming the exchange, the call and the cause.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import ccxt
import numpy as np

from sixbtc.adapters.market.aggregation import bar_ms
from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.adapters.market.checks import CandleRows, DataReport
from sixbtc.adapters.market.market_data import CachedMarketData
from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.application.ports import Clock
from sixbtc.domain.candles import Candles, to_ms
from sixbtc.domain.timeframe import Timeframe

log = logging.getLogger(__name__)

STEP = bar_ms(Timeframe.M5)
DAY_MS = 86_400_000
PREFERRED_QUOTES = ("USDT", "USDC")


def ccxt_exchange(exchange_id: str, options: dict[str, Any] | None = None) -> ccxt.Exchange:
    """A ccxt exchange by id (``binanceusdm``) with its rate limiter on."""
    kind = getattr(ccxt, exchange_id, None)
    if exchange_id not in ccxt.exchanges or kind is None:
        raise ValueError(f"market_data.exchange: {exchange_id!r}; expected a ccxt exchange id")
    return kind({"enableRateLimit": True, **(options or {})})


class CcxtMarketData:
    """The MarketData port over a ccxt exchange, through the parquet cache.

    ``candles`` first brings the cache up to date when it lacks closed bars the request covers
    (at most once per 5m bar of the clock), then serves from the cache.
    """

    def __init__(
        self,
        exchange: ccxt.Exchange,
        cache: ParquetCandleCache,
        clock: Clock,
        symbols: Sequence[str] = (),
        coins: int = 30,
        history_days: int = 395,
        page_limit: int = 1000,
        retries: int = 5,
        backoff_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.exchange = exchange
        self.exchange.enableRateLimit = True
        self.cache = cache
        self.clock = clock
        self.coins = coins
        self.history_days = history_days
        self.page_limit = page_limit
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._configured = {self._coin(entry): entry for entry in symbols}
        self._symbols: list[str] | None = list(self._configured) or None
        self._checked_at: dict[str, int] = {}
        self.cached = CachedMarketData(cache, exchange.id)

    def symbols(self) -> list[str]:
        """The configured coins, or the ``coins`` coins with the largest 24h quote volume."""
        if self._symbols is None:
            self._symbols = self._top_by_quote_volume()
        return list(self._symbols)

    def candles(self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime) -> Candles:
        closed_until = self._now_ms() // STEP * STEP
        wanted_until = min(to_ms(end), closed_until)
        last = self.cached.last_open(symbol)
        behind = last is None or last + STEP < wanted_until
        if behind and self._checked_at.get(symbol) != closed_until:
            self.update(symbol)
        return self.cached.candles(symbol, timeframe, start, end)

    def update(self, symbol: str) -> DataReport | None:
        """Download the closed 5m bars of ``symbol`` after the cached ones into the cache.

        Returns the data report, or None when there was nothing new."""
        market = self._market(symbol)
        closed_until = self._now_ms() // STEP * STEP
        cached = self.cache.read(self.exchange.id, symbol)
        if cached is not None and len(cached):
            since = int(cached.time[-1]) + STEP
        else:
            since = closed_until - self.history_days * DAY_MS
        wanted_from = since
        bars: list[list[float]] = []
        while since < closed_until:
            page = self._call("fetch_ohlcv", market, Timeframe.M5.value, since, self.page_limit)
            closed = [bar for bar in page if since <= bar[0] < closed_until]  # no forming bar
            bars.extend(closed)
            if not page or page[-1][0] < since:
                break
            since = int(page[-1][0]) + STEP
        self._checked_at[symbol] = closed_until
        if not bars:
            return None
        if cached is None and bars[0][0] >= wanted_from + DAY_MS:
            log.warning(
                "%s %s: history starts %.1f days after the %d days asked for",
                self.exchange.id,
                market,
                (bars[0][0] - wanted_from) / DAY_MS,
                self.history_days,
            )
        table = np.array(bars, dtype=np.float64)
        rows = CandleRows(table[:, 0].astype(np.int64), *table[:, 1:6].T)
        report = self.cache.write(self.exchange.id, symbol, rows, f"{self.exchange.id} {market}")
        self.cached.forget(symbol)
        if report.issues:
            log.warning("%s", report)
        return report

    def _now_ms(self) -> int:
        return to_ms(self.clock.now())

    @staticmethod
    def _coin(entry: str) -> str:
        return entry.split("/")[0]

    def _market(self, coin: str) -> str:
        """The ccxt symbol downloaded for ``coin``."""
        configured = self._configured.get(coin)
        if configured is not None and "/" in configured:
            return configured
        candidates = [m for m in self._perpetuals() if m["base"] == coin]
        if not candidates:
            raise MarketDataUnavailable(
                f"{self.exchange.id}: no linear perpetual for {coin!r}; expected a listed coin"
            )
        return min(candidates, key=_quote_preference)["symbol"]

    def _perpetuals(self) -> list[dict[str, Any]]:
        markets = self._call("load_markets")
        return [
            m
            for m in markets.values()
            if m.get("swap") and m.get("linear") and m.get("active") is not False
        ]

    def _top_by_quote_volume(self) -> list[str]:
        perpetuals = {m["symbol"]: m for m in self._perpetuals()}
        tickers = self._call("fetch_tickers")
        volume = {
            symbol: float(ticker.get("quoteVolume") or 0.0)
            for symbol, ticker in tickers.items()
            if symbol in perpetuals
        }
        ranked = sorted(volume, key=lambda s: (-volume[s], _quote_preference(perpetuals[s])))
        coins: list[str] = []
        for symbol in ranked:
            base = perpetuals[symbol]["base"]
            if base not in coins:
                coins.append(base)
        if not coins:
            raise MarketDataUnavailable(f"{self.exchange.id}: no perpetual has a ticker")
        return coins[: self.coins]

    def _call(self, method: str, *args: Any) -> Any:
        """``exchange.method(*args)`` with retries; ccxt errors become MarketDataUnavailable."""
        where = f"{self.exchange.id} {method}{args!r}"
        attempt = 0
        while True:
            try:
                return getattr(self.exchange, method)(*args)
            except ccxt.NetworkError as error:  # rate limits, DDoS protection, timeouts, outages
                if attempt == self.retries:
                    raise MarketDataUnavailable(
                        f"{where}: {type(error).__name__} {error}; gave up after "
                        f"{attempt + 1} attempts"
                    ) from error
                delay = self.backoff_seconds * 2**attempt
                log.warning("%s: %s; retrying in %.1f s", where, type(error).__name__, delay)
                self._sleep(delay)
                attempt += 1
            except ccxt.BaseError as error:
                raise MarketDataUnavailable(f"{where}: {type(error).__name__} {error}") from error


def _quote_preference(market: dict[str, Any]) -> tuple[int, str]:
    quote = market.get("quote", "")
    rank = PREFERRED_QUOTES.index(quote) if quote in PREFERRED_QUOTES else len(PREFERRED_QUOTES)
    return rank, market["symbol"]
