"""Repositories of live trading's safety records on their tables: ``trading_halts``,
``trading_issues`` and ``portfolio_days``. Rows and domain objects are converted here."""

from __future__ import annotations

from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sixbtc.adapters.sqlalchemy.tables import portfolio_days, trading_halts, trading_issues
from sixbtc.adapters.sqlalchemy.trading import _Table
from sixbtc.domain.emergency import PortfolioDay
from sixbtc.domain.halt import Halt
from sixbtc.domain.reconciliation import Issue


def _values(record: Any) -> dict[str, Any]:
    """A record's fields as column values (enums as their labels), without its id."""
    return {
        name: getattr(value, "value", value)
        for name, value in attrs.asdict(record, recurse=False).items()
        if name != "id"
    }


class SqlAlchemyHaltRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows = _Table(connection, trading_halts, "id", "halt")

    def add(self, halt: Halt) -> None:
        done = self._connection.execute(trading_halts.insert().values(**_values(halt)))
        halt.id = done.inserted_primary_key[0]

    def save(self, halt: Halt) -> None:
        self._rows.update(halt.id, _values(halt))

    def active(self) -> list[Halt]:
        rows = self._rows.rows(trading_halts.c.lifted_at.is_(None), order=[trading_halts.c.id])
        return [Halt(**row) for row in rows]

    def latest(self, limit: int) -> list[Halt]:
        query = sa.select(trading_halts).order_by(trading_halts.c.id.desc()).limit(limit)
        return [Halt(**row) for row in self._connection.execute(query).mappings()]


def _issue_values(issue: Issue) -> dict[str, Any]:
    values = _values(issue)
    values["subaccount_id"] = values.pop("subaccount")
    return values


def _issue(row: Any) -> Issue:
    values = dict(row)
    values["subaccount"] = values.pop("subaccount_id")
    return Issue(**values)


class SqlAlchemyIssueRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows = _Table(connection, trading_issues, "id", "issue")

    def add(self, issue: Issue) -> None:
        done = self._connection.execute(trading_issues.insert().values(**_issue_values(issue)))
        issue.id = done.inserted_primary_key[0]

    def save(self, issue: Issue) -> None:
        self._rows.update(issue.id, _issue_values(issue))

    def unresolved(self, subaccount: int | None = None) -> list[Issue]:
        conditions = [trading_issues.c.resolved_at.is_(None)]
        if subaccount is not None:
            conditions.append(trading_issues.c.subaccount_id == subaccount)
        return [_issue(row) for row in self._rows.rows(*conditions, order=[trading_issues.c.id])]


class SqlAlchemyPortfolioRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def latest(self) -> PortfolioDay | None:
        query = sa.select(portfolio_days).order_by(portfolio_days.c.day.desc()).limit(1)
        row = self._connection.execute(query).mappings().first()
        return PortfolioDay(**row) if row is not None else None

    def save(self, day: PortfolioDay) -> None:
        values = attrs.asdict(day, recurse=False)
        done = self._connection.execute(
            portfolio_days.update().where(portfolio_days.c.day == day.day).values(**values)
        )
        if done.rowcount == 0:
            self._connection.execute(portfolio_days.insert().values(**values))
