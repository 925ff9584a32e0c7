"""Market data from 5m bars: synthetic markets, the parquet cache, aggregation, checks, imports."""

from sixbtc.adapters.market.cache import ParquetCandleCache
from sixbtc.adapters.market.market_data import CachedMarketData
from sixbtc.adapters.market.synthetic import Mode, SyntheticMarketData

__all__ = ["CachedMarketData", "Mode", "ParquetCandleCache", "SyntheticMarketData"]
