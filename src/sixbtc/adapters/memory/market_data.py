"""Market data held in memory: candles given up front, served by time range."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.domain.candles import Candles
from sixbtc.domain.timeframe import Timeframe


class InMemoryMarketData:
    """Serves the candles it was built with, keyed by symbol and timeframe."""

    def __init__(self, candles: Iterable[Candles]) -> None:
        self._candles: dict[tuple[str, Timeframe], Candles] = {}
        for series in candles:
            self._candles[(series.symbol, series.timeframe)] = series

    def symbols(self) -> list[str]:
        return sorted({symbol for symbol, _ in self._candles})

    def candles(self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime) -> Candles:
        try:
            series = self._candles[(symbol, timeframe)]
        except KeyError:
            raise MarketDataUnavailable(f"no {timeframe} candles for {symbol!r}") from None
        return series.closed_between(start, end)
