"""Databases for integration tests: SQLite files in tmp_path and scratch PostgreSQL databases.

PostgreSQL tests need ``SIXBTC_TEST_POSTGRES_URL`` (a server where the user may CREATE DATABASE);
each test gets databases of its own, named ``sixbtc_test_<random>``, dropped afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from sixbtc.adapters.sqlalchemy import migrations

POSTGRES_ENV = "SIXBTC_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(
            f"{POSTGRES_ENV} is not set; PostgreSQL tests need a server URL such as "
            "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
    return url


@contextmanager
def scratch_postgres_database() -> Iterator[str]:
    """A new empty PostgreSQL database; yields its URL and drops it on exit."""
    server = sa.make_url(postgres_server_url())
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"sixbtc_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty scratch PostgreSQL database of this test."""
    with scratch_postgres_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite file of this test."""
    return f"sqlite:///{tmp_path / 'sixbtc.db'}"


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file upgraded to head once per session; tests copy it."""
    path = tmp_path_factory.mktemp("template") / "head.db"
    migrations.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def migrated_sqlite_url(migrated_sqlite_template: Path, tmp_path: Path) -> str:
    """A SQLite file at head of this test."""
    path = tmp_path / "head.db"
    shutil.copy(migrated_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_postgres_session_url() -> Iterator[str]:
    """A PostgreSQL database upgraded to head once per session (tests empty it, see below)."""
    with scratch_postgres_database() as url:
        migrations.upgrade(url)
        yield url


HEAD_TABLES = (
    "trading_halts",
    "trading_issues",
    "portfolio_days",
    "exchange_requests",
    "service_heartbeats",
    "paper_fills",
    "paper_requests",
    "paper_accounts",
    "fills",
    "orders",
    "strategy_events",
    "backtest_results",
    "trades",
    "subaccounts",
    "strategies",
)


@pytest.fixture
def migrated_postgres_url(migrated_postgres_session_url: str) -> str:
    """The session's PostgreSQL database at head, emptied for this test."""
    engine = sa.create_engine(migrated_postgres_session_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"TRUNCATE {', '.join(HEAD_TABLES)} RESTART IDENTITY CASCADE")
    engine.dispose()
    return migrated_postgres_session_url
