"""The SQL unit of work: one connection, one transaction, rolled back unless committed.

A database failure inside a unit of work reaches the application as
:class:`~sixbtc.application.errors.DatabaseUnavailable` when the database itself is the cause (lost
connection, restart, read-only, lock), and the connection is thrown away rather than pooled: a
session left in a bad state (read-only, aborted) is never handed out again.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sixbtc.adapters.sqlalchemy.claims import SqlAlchemyClaimRepository
from sixbtc.adapters.sqlalchemy.repositories import (
    SqlAlchemyBacktestRepository,
    SqlAlchemyStrategyRepository,
)
from sixbtc.adapters.sqlalchemy.safety import (
    SqlAlchemyHaltRepository,
    SqlAlchemyIssueRepository,
    SqlAlchemyPortfolioRepository,
)
from sixbtc.adapters.sqlalchemy.trading import (
    SqlAlchemyFillRepository,
    SqlAlchemyHeartbeatRepository,
    SqlAlchemyOrderRepository,
    SqlAlchemySubaccountRepository,
    SqlAlchemyTradeRepository,
)
from sixbtc.application.errors import DatabaseUnavailable

#: Errors of the database itself, not of the statement: the same work succeeds once it is back.
_UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.InternalError)


def _unavailable(error: sa.exc.DBAPIError) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"database unavailable: {type(error.orig).__name__}: {error.orig}")


#: The key of the PostgreSQL advisory lock that serialises changes to the ACTIVE pool.
POOL_LOCK_KEY = 0x5B7C_AC71


class SqlAlchemyUnitOfWork:
    """The :class:`~sixbtc.application.ports.UnitOfWork` port on a SQLAlchemy engine.

    The transaction starts with the first statement (on SQLite with ``BEGIN IMMEDIATE``, see
    :func:`~sixbtc.adapters.sqlalchemy.engine.create_engine`). :meth:`commit` first writes the
    changes of every strategy loaded in this unit of work; leaving the block rolls back the rest.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def __enter__(self) -> Self:
        try:
            self._connection = self.engine.connect()
        except _UNAVAILABLE as error:
            raise _unavailable(error) from error
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if isinstance(exc, sa.exc.DBAPIError):
            connection.invalidate()  # closed, never pooled again
            connection.close()
            if isinstance(exc, _UNAVAILABLE):
                self.engine.dispose()  # its siblings in the pool may share the state: new ones
                raise _unavailable(exc) from exc
            return
        try:
            connection.rollback()
        finally:
            connection.close()

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            raise RuntimeError("unit of work: use it inside a `with` block")
        return self._connection

    def _begin(self) -> None:
        self.strategies = SqlAlchemyStrategyRepository(self.connection)
        self.claims = SqlAlchemyClaimRepository(self.connection, self.strategies)
        self.subaccounts = SqlAlchemySubaccountRepository(self.connection)
        self.orders = SqlAlchemyOrderRepository(self.connection)
        self.fills = SqlAlchemyFillRepository(self.connection)
        self.trades = SqlAlchemyTradeRepository(self.connection)
        self.heartbeats = SqlAlchemyHeartbeatRepository(self.connection)
        self.halts = SqlAlchemyHaltRepository(self.connection)
        self.issues = SqlAlchemyIssueRepository(self.connection)
        self.portfolio = SqlAlchemyPortfolioRepository(self.connection)
        self.backtests = SqlAlchemyBacktestRepository(self.connection)

    def commit(self) -> None:
        self.strategies.flush()
        self.connection.commit()
        self.strategies.committed()
        self._begin()

    def rollback(self) -> None:
        self.connection.rollback()
        self._begin()

    def lock_pool(self) -> None:
        """PostgreSQL: a transaction-scoped advisory lock. SQLite: the database write lock, which
        every transaction takes at its start (``BEGIN IMMEDIATE``); a statement makes sure it is
        held."""
        if self.connection.dialect.name == "postgresql":
            self.connection.execute(sa.select(sa.func.pg_advisory_xact_lock(POOL_LOCK_KEY)))
        else:
            self.connection.execute(sa.select(1))
