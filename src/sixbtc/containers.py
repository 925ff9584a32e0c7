"""The composition root: builds adapters from the configuration and hands them to use cases.

Nothing is built at import time; entrypoints create a :class:`Container` from a loaded
:class:`~sixbtc.config.Config`.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from sixbtc.adapters.clock import SystemClock
from sixbtc.adapters.engine import NumbaBacktestEngine
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine
from sixbtc.config import Config


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
    backtest_engine = providers.Singleton(
        lambda c: NumbaBacktestEngine(workers=c.backtester.workers), config
    )


def build(config: Config) -> Container:
    """A container for ``config``."""
    return Container(config=config)
