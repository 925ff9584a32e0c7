"""The container's market_data provider follows market_data.source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sixbtc import config as configuration
from sixbtc import containers
from sixbtc.adapters.ccxt.market_data import CcxtMarketData
from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.market import CachedMarketData, SyntheticMarketData
from sixbtc.adapters.market.checks import CandleRows
from sixbtc.config import ConfigError, from_mapping
from sixbtc.domain.timeframe import Timeframe


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


def synthetic_hours(settings: dict, now: datetime) -> np.ndarray:
    """Open time and close of the BTC hours the container's synthetic market serves at ``now``."""
    container = containers.build(from_mapping({"market_data": settings}))
    container.clock.override(ManualClock(now))
    market = container.market_data()
    hours = market.candles("BTC", Timeframe.H1, now - timedelta(days=800), now)
    return np.column_stack([hours.time, hours.close])


def test_unpinned_synthetic_market_moves_with_the_day_and_a_pinned_one_does_not():
    monday = datetime(2025, 6, 2, 15, 40, tzinfo=UTC)
    tuesday = monday + timedelta(days=1)
    moving = synthetic_hours({}, monday), synthetic_hours({}, tuesday)
    assert moving[0][-1, 0] + 86_400_000 == moving[1][-1, 0]
    pinned = {"synthetic_end": "2025-05-01"}
    one, two = synthetic_hours(pinned, monday), synthetic_hours(pinned, tuesday)
    np.testing.assert_array_equal(one, two)
    assert one[-1, 0] + 3_600_000 == datetime(2025, 5, 1, tzinfo=UTC).timestamp() * 1000


def test_synthetic_end_is_read_from_yaml_and_environment_and_validated(tmp_path):
    file = tmp_path / "config.yaml"
    file.write_text("market_data: {synthetic_end: 2025-01-01}\n")  # YAML reads a date here
    assert configuration.load(file, environ={}).market_data.synthetic_end == "2025-01-01"
    env = {"SIXBTC_MARKET_DATA__SYNTHETIC_END": "2024-02-29"}
    assert configuration.load(file, environ=env).market_data.synthetic_end == "2024-02-29"
    for bad in ("2025-02-30", "yesterday", "2025-01-01T12:00"):
        env = {"SIXBTC_MARKET_DATA__SYNTHETIC_END": bad}
        with pytest.raises(
            ConfigError,
            match=r"market_data.synthetic_end: .*; expected an ISO date \(2025-01-01\) or empty",
        ):
            configuration.load(file, environ=env)
    file.write_text("market_data: {synthetic_end: 2025-02-30}\n")
    with pytest.raises(ConfigError, match=r"not valid YAML \(day is out of range"):
        configuration.load(file, environ={})


def test_cache_source_serves_what_the_cache_holds_without_an_exchange(tmp_path):
    end = datetime(2025, 1, 1, tzinfo=UTC)
    bars = SyntheticMarketData(end, days=2, coins=["ADA", "ETH"])
    settings = {"source": "cache", "exchange": "imported", "cache_dir": str(tmp_path)}
    container = containers.build(from_mapping({"market_data": settings}))
    for coin in ("ADA", "ETH"):
        candles = bars.candles(coin, Timeframe.M5, end - timedelta(days=2), end)
        container.candle_cache().write("imported", coin, CandleRows.of(candles), "a file")
    market = container.market_data()
    assert isinstance(market, CachedMarketData)
    assert market.symbols() == ["ADA", "ETH"]
    hours = market.candles("ETH", Timeframe.H1, end - timedelta(days=1), end)
    np.testing.assert_array_equal(
        hours.close, bars.candles("ETH", Timeframe.H1, end - timedelta(days=1), end).close
    )
    chosen = {**settings, "symbols": ["ETH/USDT:USDT"]}
    assert containers.build(from_mapping({"market_data": chosen})).market_data().symbols() == [
        "ETH"
    ]
