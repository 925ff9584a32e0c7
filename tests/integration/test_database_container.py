"""The container builds the SQL unit of work on the configured database."""

from __future__ import annotations

import attrs

from sixbtc.adapters.memory import InMemoryUnitOfWork
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, migrations
from sixbtc.config import Config, DatabaseConfig
from sixbtc.containers import build
from sixbtc.domain.strategy import Status


def test_database_url_selects_the_sql_unit_of_work(sqlite_url: str) -> None:
    migrations.upgrade(sqlite_url)
    container = build(attrs.evolve(Config(), database=DatabaseConfig(url=sqlite_url)))
    uow = container.unit_of_work()
    assert isinstance(uow, SqlAlchemyUnitOfWork)
    assert str(uow.engine.url) == sqlite_url
    with uow:
        assert uow.strategies.count(Status.GENERATED) == 0
    assert isinstance(container.in_memory_unit_of_work(), InMemoryUnitOfWork)
    container.engine().dispose()
