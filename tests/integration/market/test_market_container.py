"""The container's market_data provider follows market_data.source."""

from __future__ import annotations

from sixbtc import containers
from sixbtc.adapters.ccxt.market_data import CcxtMarketData
from sixbtc.adapters.market import SyntheticMarketData
from sixbtc.config import from_mapping


def test_synthetic_source_gives_the_configured_mode_ending_today():
    config = from_mapping(
        {"market_data": {"synthetic_mode": "planted_edge", "seed": 5}, "backtester": {"coins": 4}}
    )
    container = containers.build(config)
    market = container.market_data()
    assert isinstance(market, SyntheticMarketData)
    assert market.symbols() == ["BTC", "ETH", "SOL", "BNB"]
    assert (market.mode, market.seed, market.bars) == ("planted_edge", 5, 395 * 288)
    assert market.end_ms % 86_400_000 == 0
    assert container.clock().now().timestamp() * 1000 - market.end_ms < 86_400_000


def test_ccxt_source_gives_the_cached_exchange_history(tmp_path):
    config = from_mapping(
        {
            "market_data": {
                "source": "ccxt",
                "exchange": "binanceusdm",
                "cache_dir": str(tmp_path),
                "symbols": ["BTC", "ETH/USDT:USDT"],
            }
        }
    )
    market = containers.build(config).market_data()
    assert isinstance(market, CcxtMarketData)
    assert market.exchange.id == "binanceusdm"
    assert market.symbols() == ["BTC", "ETH"]
    assert market.cache.root == tmp_path
