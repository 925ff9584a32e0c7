"""Market data served from 5m bars: the parquet cache, with the higher timeframes aggregated."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sixbtc.adapters.market.aggregation import aggregate
from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.domain.candles import Candles
from sixbtc.domain.timeframe import Timeframe


class TimeframeMemo:
    """Each symbol's 5m candles and their aggregates, computed once and kept in memory."""

    def __init__(self, load_base: Callable[[str], Candles | None]) -> None:
        self._load_base = load_base
        self._series: dict[tuple[str, Timeframe], Candles] = {}

    def get(self, symbol: str, timeframe: Timeframe) -> Candles:
        """All closed ``timeframe`` candles of ``symbol``; MarketDataUnavailable when none."""
        key = (symbol, timeframe)
        if key not in self._series:
            base = self._series.get((symbol, Timeframe.M5))
            if base is None:
                base = self._load_base(symbol)
            if base is None:
                raise MarketDataUnavailable(f"no candles for {symbol!r}")
            self._series[(symbol, Timeframe.M5)] = base
            self._series[key] = aggregate(base, timeframe)
        return self._series[key]

    def closed_between(
        self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime
    ) -> Candles:
        """The ``timeframe`` candles of ``symbol`` that open at or after ``start`` and close at or
        before ``end``: a candle still forming at ``end`` (a 5m bar opening at 11:58 for an end at
        12:00, the 1h candle opening at 11:00 for an end at 11:30) is left out."""
        return self.get(symbol, timeframe).closed_between(start, end)

    def forget(self, symbol: str) -> None:
        """Drop what is kept for ``symbol`` (its base changed)."""
        for key in [key for key in self._series if key[0] == symbol]:
            del self._series[key]


class CachedMarketData:
    """The MarketData port over the parquet cache of one source (an exchange id or import name).

    Serves ``symbols`` when given, otherwise every symbol cached from ``source``.
    """

    def __init__(self, cache: ParquetCandleCache, source: str, symbols: Sequence[str] = ()) -> None:
        self.cache = cache
        self.source = source
        self._symbols = list(symbols)
        self._memo = TimeframeMemo(lambda symbol: self.cache.read(self.source, symbol))

    def symbols(self) -> list[str]:
        return list(self._symbols) or self.cache.symbols(self.source)

    def candles(self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime) -> Candles:
        return self._memo.closed_between(symbol, timeframe, start, end)

    def last_open(self, symbol: str) -> int | None:
        """Open time (UTC ms) of the last cached 5m bar of ``symbol``; None when none is cached."""
        try:
            base = self._memo.get(symbol, Timeframe.M5)
        except MarketDataUnavailable:
            return None
        return int(base.time[-1]) if len(base) else None

    def forget(self, symbol: str) -> None:
        """Re-read ``symbol`` from the cache on the next request (after the cache was updated)."""
        self._memo.forget(symbol)
