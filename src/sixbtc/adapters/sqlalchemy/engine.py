"""Engines by URL: a SQLite file (the embedded default) or PostgreSQL through psycopg 3."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

#: Seconds a SQLite connection waits for another process's write lock before giving up.
SQLITE_BUSY_TIMEOUT = 60.0


def create_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///file.db`` or ``postgresql+psycopg://...``).

    SQLite: WAL journal, a busy timeout, foreign keys enforced, and every transaction opened with
    ``BEGIN IMMEDIATE`` so that a unit of work holds the single write lock from its first statement
    (claims and pool changes are then serialised, and a transaction never fails upgrading a stale
    read snapshot to a write). PostgreSQL: the ``postgresql://`` scheme selects psycopg 3, and a
    pooled connection is checked before each use (a server restart costs no failed work).
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")
        return sa.create_engine(parsed, pool_pre_ping=True)
    raise ValueError(
        f"database.url: {url!r}; expected sqlite:///FILE or postgresql+psycopg://USER@HOST/DB"
    )


def _sqlite_engine(url: sa.URL) -> Engine:
    engine = sa.create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
    in_memory = url.database in (None, "", ":memory:")

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # The driver must not open transactions on its own: the "begin" listener below does.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
