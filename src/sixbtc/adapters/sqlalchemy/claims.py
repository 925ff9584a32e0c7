"""The work queue on the ``strategies`` table: claims with leases (``claimed_by``,
``claim_expires_at``) and the back-off after failures of our machinery (``work_failures``,
``last_work_error``, ``work_failed_at``, ``retry_after``)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from sixbtc.adapters.sqlalchemy.repositories import SqlAlchemyStrategyRepository
from sixbtc.adapters.sqlalchemy.tables import UtcDateTime, strategies
from sixbtc.application.errors import NotFound
from sixbtc.application.ports import HeldClaim
from sixbtc.domain.retry import WorkFailure
from sixbtc.domain.strategy import Status, Strategy


def _failure(row: RowMapping) -> WorkFailure | None:
    if not row["work_failures"]:
        return None
    return WorkFailure(
        row["work_failures"], row["last_work_error"], row["work_failed_at"], row["retry_after"]
    )


def _claim_statement(
    conditions: list[sa.ColumnElement[bool]], order: list[sa.ColumnElement[Any]]
) -> sa.Update:
    """Claim the first ``:limit`` free rows meeting ``conditions`` in ``order`` for ``:owner``
    until ``:expires``. Free means unclaimed or lease expired at ``:now``, and not waiting a
    back-off (``retry_after`` past). On PostgreSQL rows
    locked by another claimer are skipped (FOR UPDATE SKIP LOCKED); on SQLite the transaction
    already holds the database's write lock."""
    now = sa.bindparam("now", type_=UtcDateTime)
    free = (strategies.c.claimed_by.is_(None) | (strategies.c.claim_expires_at <= now)) & (
        strategies.c.retry_after.is_(None) | (strategies.c.retry_after <= now)
    )
    picked = (
        sa.select(strategies.c.id)
        .where(*conditions, free)
        .order_by(*order)
        .limit(sa.bindparam("limit"))
        .with_for_update(skip_locked=True)
        .cte("picked")
    )
    return (
        strategies.update()
        .where(strategies.c.id.in_(sa.select(picked.c.id)))
        .values(
            claimed_by=sa.bindparam("owner"),
            claim_expires_at=sa.bindparam("expires", type_=UtcDateTime),
        )
        .returning(*strategies.c)
    )


_last_backtest = strategies.c.last_backtested_at
_CLAIM_BY_STATUS = _claim_statement(
    [strategies.c.status == sa.bindparam("wanted_status")],
    [strategies.c.created_at, strategies.c.id],
)
_FAILURE_COLUMNS = (
    strategies.c.work_failures,
    strategies.c.last_work_error,
    strategies.c.work_failed_at,
    strategies.c.retry_after,
)
_NO_FAILURE = {column.name: None for column in _FAILURE_COLUMNS} | {"work_failures": 0}
_CLAIM_DUE_FOR_RETEST = _claim_statement(
    [
        strategies.c.status == Status.ACTIVE.value,
        strategies.c.score_backtest.is_(None)
        | _last_backtest.is_(None)
        | (_last_backtest <= sa.bindparam("cutoff", type_=UtcDateTime)),
    ],
    [
        strategies.c.score_backtest.is_not(None),
        _last_backtest.is_not(None),
        _last_backtest,
        strategies.c.id,
    ],
)


class SqlAlchemyClaimRepository:
    """The :class:`~sixbtc.application.ports.ClaimRepository` port; claimed strategies are loaded
    into the unit of work's strategy repository."""

    def __init__(self, connection: Connection, strategies: SqlAlchemyStrategyRepository) -> None:
        self._connection = connection
        self._strategies = strategies

    def _claim(
        self, statement: sa.Update, key: Callable[[RowMapping], Any], **params: Any
    ) -> list[Strategy]:
        self._strategies.flush()
        claimed = self._connection.execute(statement, params).mappings()
        return self._strategies.adopt(sorted(claimed, key=key))

    def claim(
        self, status: Status, limit: int, owner: str, now: datetime, lease: timedelta
    ) -> list[Strategy]:
        return self._claim(
            _CLAIM_BY_STATUS,
            lambda row: (row["created_at"], row["id"].int),
            wanted_status=status.value,
            limit=limit,
            owner=owner,
            now=now,
            expires=now + lease,
        )

    def claim_due_for_retest(
        self, cutoff: datetime, limit: int, owner: str, now: datetime, lease: timedelta
    ) -> list[Strategy]:
        return self._claim(
            _CLAIM_DUE_FOR_RETEST,
            lambda row: (
                row["score_backtest"] is not None,
                row["last_backtested_at"] is not None,
                row["last_backtested_at"] or now,
                row["id"].int,
            ),
            cutoff=cutoff,
            limit=limit,
            owner=owner,
            now=now,
            expires=now + lease,
        )

    def _held(self, strategy_id: uuid.UUID, owner: str) -> sa.Update:
        return strategies.update().where(
            strategies.c.id == strategy_id, strategies.c.claimed_by == owner
        )

    def release(self, strategy_id: uuid.UUID, owner: str) -> None:
        self._connection.execute(
            self._held(strategy_id, owner).values(
                claimed_by=None, claim_expires_at=None, **_NO_FAILURE
            )
        )

    def renew(
        self, strategy_ids: Iterable[uuid.UUID], owner: str, now: datetime, lease: timedelta
    ) -> set[uuid.UUID]:
        renewed = self._connection.execute(
            strategies.update()
            .where(strategies.c.id.in_(list(strategy_ids)), strategies.c.claimed_by == owner)
            .values(claim_expires_at=now + lease)
            .returning(strategies.c.id)
        )
        return set(renewed.scalars())

    def failure(self, strategy_id: uuid.UUID) -> WorkFailure | None:
        row = (
            self._connection.execute(
                sa.select(*_FAILURE_COLUMNS).where(strategies.c.id == strategy_id)
            )
            .mappings()
            .first()
        )
        if row is None:
            raise NotFound(f"strategy {strategy_id} does not exist")
        return _failure(row)

    def defer(self, strategy_id: uuid.UUID, owner: str, failure: WorkFailure) -> None:
        self._connection.execute(
            self._held(strategy_id, owner).values(
                claimed_by=None,
                claim_expires_at=None,
                work_failures=failure.count,
                last_work_error=failure.error,
                work_failed_at=failure.at,
                retry_after=failure.retry_after,
            )
        )

    def deferred(self) -> list[tuple[Strategy, WorkFailure]]:
        self._strategies.flush()
        query = (
            sa.select(strategies)
            .where(strategies.c.work_failures > 0)
            .order_by(strategies.c.work_failed_at, strategies.c.id)
        )
        rows = list(self._connection.execute(query).mappings())
        return list(zip(self._strategies.adopt(rows), map(_failure, rows), strict=True))

    def held(self, now: datetime) -> list[HeldClaim]:
        c = strategies.c
        query = (
            sa.select(c.name, c.status, c.claimed_by, c.claim_expires_at)
            .where(c.claimed_by.is_not(None), c.claim_expires_at > now)
            .order_by(c.claim_expires_at, c.id)
        )
        return [
            HeldClaim(row.name, Status(row.status), row.claimed_by, row.claim_expires_at)
            for row in self._connection.execute(query)
        ]
