"""Work resumes as soon as PostgreSQL is back: pooled connections are checked before use, and a
connection that failed for the database's own reason (read-only, terminated) is never reused."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from tests.factories import make_strategy

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.application.errors import DatabaseUnavailable
from sixbtc.domain.strategy import Status


@pytest.fixture
def database(postgres_url: str) -> Iterator[tuple[str, sa.Engine]]:
    migrations.upgrade(postgres_url)
    admin = sa.create_engine(sa.make_url(postgres_url).set(database="postgres"),
                             isolation_level="AUTOCOMMIT")  # fmt: skip
    yield postgres_url, admin
    admin.dispose()


def terminate_sessions(admin: sa.Engine, url: str) -> int:
    """What a server restart does to the connections of ``url``'s database."""
    with admin.connect() as connection:
        return connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": sa.make_url(url).database},
        ).scalar_one()


def add_one(uow: SqlAlchemyUnitOfWork) -> None:
    with uow:
        uow.strategies.add(make_strategy())
        uow.commit()


def count(uow: SqlAlchemyUnitOfWork) -> int:
    with uow:
        return uow.strategies.count(Status.GENERATED)


def test_a_restart_costs_no_failed_unit_of_work(database) -> None:
    url, admin = database
    engine = create_engine(url)
    uow = SqlAlchemyUnitOfWork(engine)
    add_one(uow)  # a pooled connection now exists
    assert terminate_sessions(admin, url) >= 1
    add_one(uow)  # checked before use: replaced, not failed
    assert count(uow) == 2
    engine.dispose()


def test_after_a_read_only_spell_the_next_unit_of_work_succeeds(database) -> None:
    url, admin = database
    name = sa.make_url(url).database
    engine = create_engine(url)
    uow = SqlAlchemyUnitOfWork(engine)
    add_one(uow)
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'
        )
    try:
        terminate_sessions(admin, url)  # sessions opened from now on are read-only
        with pytest.raises(DatabaseUnavailable, match="read-only"):
            add_one(uow)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f'ALTER DATABASE "{name}" RESET default_transaction_read_only'
            )
    add_one(uow)  # at once: the read-only session was thrown away, not pooled
    assert count(uow) == 2
    engine.dispose()


def test_an_unreachable_server_is_reported_as_unavailable() -> None:
    engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(DatabaseUnavailable, match="database unavailable"):
        count(SqlAlchemyUnitOfWork(engine))
