"""Engines by URL: SQLite's settings and write lock, the PostgreSQL driver, refused schemes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine
from sixbtc.adapters.sqlalchemy.engine import SQLITE_BUSY_TIMEOUT


def test_sqlite_file_uses_wal_a_busy_timeout_and_foreign_keys(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        pragmas = {
            name: connection.exec_driver_sql(f"PRAGMA {name}").scalar_one()
            for name in ("journal_mode", "busy_timeout", "foreign_keys")
        }
    engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "busy_timeout": int(SQLITE_BUSY_TIMEOUT * 1000),
        "foreign_keys": 1,
    }


def test_a_sqlite_unit_of_work_holds_the_write_lock_from_its_first_statement(
    tmp_path: Path,
) -> None:
    path = tmp_path / "x.db"
    engine = create_engine(f"sqlite:///{path}")
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.lock_pool()
        other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # released when the unit of work ended
    other.close()
    engine.dispose()


def test_postgresql_urls_use_psycopg_3() -> None:
    engine = create_engine("postgresql://postgres@127.0.0.1:5432/test")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_another_scheme_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match=r"database\.url: 'mysql://u@h/db'; expected sqlite"):
        create_engine("mysql://u@h/db")
