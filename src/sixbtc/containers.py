"""The composition root: builds adapters from the configuration and hands them to use cases.

Nothing is built at import time; entrypoints create a :class:`Container` from a loaded
:class:`~sixbtc.config.Config`.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from sixbtc.adapters.ccxt.market_data import CcxtMarketData, ccxt_exchange
from sixbtc.adapters.clock import SystemClock
from sixbtc.adapters.engine import NumbaBacktestEngine
from sixbtc.adapters.inspection import AstCodeInspector
from sixbtc.adapters.market import ParquetCandleCache, SyntheticMarketData
from sixbtc.adapters.market.synthetic import COINS
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine
from sixbtc.application.generate import AddStrategy
from sixbtc.application.ports import Clock, MarketData
from sixbtc.application.validate import StrategyChecker, ValidationSettings
from sixbtc.config import Config


def _market_data(config: Config, clock: Clock, cache: ParquetCandleCache) -> MarketData:
    """Synthetic markets ending at today's 00:00 UTC, or ccxt history through the cache."""
    settings = config.market_data
    days = config.backtester.training_days + config.backtester.holdout_days
    if settings.source == "synthetic":
        today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
        coins = settings.symbols or COINS[: config.backtester.coins]
        return SyntheticMarketData(today, settings.seed, settings.synthetic_mode, days, coins)
    return CcxtMarketData(
        ccxt_exchange(settings.exchange),
        cache,
        clock,
        symbols=settings.symbols,
        coins=config.backtester.coins,
        history_days=days,
    )


class Container(containers.DeclarativeContainer):
    """Adapters and policies wired from one Config."""

    config = providers.Dependency(instance_of=Config)
    clock = providers.Singleton(SystemClock)
    #: The in-memory store, for tests: ``unit_of_work.override(in_memory_unit_of_work)``.
    store = providers.Singleton(InMemoryStore)
    in_memory_unit_of_work = providers.Factory(InMemoryUnitOfWork, store=store)
    engine = providers.Singleton(lambda c: create_engine(c.database.url), config)
    unit_of_work = providers.Factory(SqlAlchemyUnitOfWork, engine=engine)
    scoring = providers.Singleton(lambda c: c.scoring_policy(), config)
    retirement = providers.Singleton(lambda c: c.retirement_policy(), config)
    selection = providers.Singleton(lambda c: c.live_selection(), config)
    candle_cache = providers.Singleton(
        lambda c: ParquetCandleCache(c.market_data.cache_dir), config
    )
    #: ``market_data.source``: synthetic (offline, deterministic) or ccxt with the parquet cache.
    market_data = providers.Singleton(_market_data, config, clock, candle_cache)
    backtest_engine = providers.Singleton(
        lambda c: NumbaBacktestEngine(workers=c.backtester.workers), config
    )
    #: Strategy code runs only in these confined worker processes (backtester and executor).
    signal_source = providers.Singleton(SandboxSignalSource)
    code_inspector = providers.Singleton(AstCodeInspector)
    add_strategy = providers.Factory(
        AddStrategy, unit_of_work=unit_of_work, clock=clock, inspector=code_inspector
    )
    strategy_checker = providers.Singleton(
        lambda c, inspector, source: StrategyChecker(
            inspector, source, ValidationSettings(live_history_bars=c.validator.live_history_bars)
        ),
        config,
        code_inspector,
        signal_source,
    )


def build(config: Config) -> Container:
    """A container for ``config``."""
    return Container(config=config)
