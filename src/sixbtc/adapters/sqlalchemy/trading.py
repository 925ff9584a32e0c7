"""Repositories of live trading's records on their tables: ``subaccounts`` and ``trades`` (the
original system's, their other columns kept as they are), ``orders`` and ``fills`` (ours); and of
the services' heartbeats. Rows
and domain objects are converted here, explicitly."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from sixbtc.adapters.sqlalchemy.tables import fills, orders, service_heartbeats, subaccounts, trades
from sixbtc.application.errors import DuplicateRecord, NotFound
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.orders import Fill, Order, OrderRequest, OrderStatus
from sixbtc.domain.position import Direction
from sixbtc.domain.subaccount import AccountState, Subaccount
from sixbtc.domain.trade import Trade


class _Table:
    """Insert, select and update one table's rows by their key column."""

    def __init__(self, connection: Connection, table: sa.Table, key: str, what: str) -> None:
        self.connection, self.table, self.key, self.what = connection, table, table.c[key], what

    def insert(self, key: Any, values: dict[str, Any]) -> None:
        try:
            with self.connection.begin_nested():  # losing a race keeps the unit of work
                self.connection.execute(self.table.insert().values(**values))
        except sa.exc.IntegrityError:
            raise DuplicateRecord(f"{self.what} {key} already exists") from None

    def row(self, key: Any) -> RowMapping:
        row = self.connection.execute(sa.select(self.table).where(self.key == key)).mappings()
        found = row.first()
        if found is None:
            raise NotFound(f"{self.what} {key} does not exist")
        return found

    def update(self, key: Any, values: dict[str, Any]) -> None:
        done = self.connection.execute(self.table.update().where(self.key == key).values(**values))
        if done.rowcount != 1:
            raise NotFound(f"{self.what} {key} does not exist")

    def rows(self, *conditions: sa.ColumnElement[bool], order: list) -> list[RowMapping]:
        query = sa.select(self.table).where(*conditions).order_by(*order)
        return list(self.connection.execute(query).mappings())


def _subaccount_values(s: Subaccount) -> dict[str, Any]:
    return {
        "strategy_id": s.strategy_id,
        "allocated_capital": s.allocated_capital,
        "current_balance": s.current_balance,
        "peak_balance": s.peak_balance,
        "status": s.state.value,
    }


def _subaccount(row: RowMapping) -> Subaccount:
    return Subaccount(
        id=row["id"],
        created_at=row["created_at"],
        allocated_capital=row["allocated_capital"],
        strategy_id=row["strategy_id"],
        state=AccountState(row["status"]),
        current_balance=row["current_balance"],
        peak_balance=row["peak_balance"],
    )


class SqlAlchemySubaccountRepository:
    def __init__(self, connection: Connection) -> None:
        self._rows = _Table(connection, subaccounts, "id", "subaccount")

    def add(self, subaccount: Subaccount) -> None:
        values = {"id": subaccount.id, "created_at": subaccount.created_at}
        self._rows.insert(subaccount.id, values | _subaccount_values(subaccount))

    def get(self, subaccount_id: int) -> Subaccount:
        return _subaccount(self._rows.row(subaccount_id))

    def save(self, subaccount: Subaccount) -> None:
        self._rows.update(subaccount.id, _subaccount_values(subaccount))

    def all(self) -> list[Subaccount]:
        return [_subaccount(row) for row in self._rows.rows(order=[subaccounts.c.id])]


def _order(row: RowMapping) -> Order:
    request = OrderRequest(
        row["client_order_id"],
        row["subaccount_id"],
        row["symbol"],
        row["side"],
        row["amount"],
        row["reduce_only"],
    )
    return Order(
        row["strategy_id"],
        request,
        row["created_at"],
        row["candle_at"],
        row["atr"],
        OrderStatus(row["status"]),
    )


class SqlAlchemyOrderRepository:
    def __init__(self, connection: Connection) -> None:
        self._rows = _Table(connection, orders, "client_order_id", "order")

    def add(self, order: Order) -> None:
        r = order.request
        self._rows.insert(
            order.client_order_id,
            {
                "client_order_id": r.client_order_id,
                "strategy_id": order.strategy_id,
                "subaccount_id": r.subaccount,
                "symbol": r.symbol,
                "side": r.side.value,
                "amount": r.amount,
                "reduce_only": r.reduce_only,
                "status": order.status.value,
                "created_at": order.created_at,
                "candle_at": order.candle,
                "atr": order.atr,
            },
        )

    def get(self, client_order_id: str) -> Order:
        return _order(self._rows.row(client_order_id))

    def find(self, client_order_id: str) -> Order | None:
        try:
            return self.get(client_order_id)
        except NotFound:
            return None

    def save(self, order: Order) -> None:
        self._rows.update(order.client_order_id, {"status": order.status.value})

    def unsettled(self, subaccount: int) -> list[Order]:
        rows = self._rows.rows(
            orders.c.subaccount_id == subaccount,
            orders.c.status.in_([OrderStatus.PENDING.value, OrderStatus.OPEN.value]),
            order=[orders.c.created_at, orders.c.client_order_id],
        )
        return [_order(row) for row in rows]


def fill_values(fill: Fill) -> dict[str, Any]:
    """A fill's row (the executor's ``fills`` and the paper exchange's ``paper_fills`` alike)."""
    return {
        "subaccount_id": fill.subaccount,
        "sequence": fill.sequence,
        "client_order_id": fill.client_order_id,
        "symbol": fill.symbol,
        "side": fill.side.value,
        "amount": fill.amount,
        "price": fill.price,
        "fee": fill.fee,
        "filled_at": fill.at,
        "reason": fill.reason.value if fill.reason else None,
    }


def fill_of(r: RowMapping) -> Fill:
    return Fill(
        r["subaccount_id"],
        r["sequence"],
        r["client_order_id"],
        r["symbol"],
        r["side"],
        r["amount"],
        r["price"],
        r["fee"],
        r["filled_at"],
        r["reason"],
    )


class SqlAlchemyFillRepository:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows = _Table(connection, fills, "sequence", "fill")

    def add(self, fill: Fill) -> None:
        self._rows.insert((fill.subaccount, fill.sequence), fill_values(fill))

    def last_sequence(self, subaccount: int) -> int:
        query = sa.select(sa.func.max(fills.c.sequence)).where(fills.c.subaccount_id == subaccount)
        return self._connection.execute(query).scalar_one() or 0

    def after(self, subaccount: int, sequence: int) -> list[Fill]:
        rows = self._rows.rows(
            fills.c.subaccount_id == subaccount,
            fills.c.sequence > sequence,
            order=[fills.c.sequence],
        )
        return [fill_of(r) for r in rows]

    def for_order(self, client_order_id: str) -> list[Fill]:
        rows = self._rows.rows(
            fills.c.client_order_id == client_order_id,
            order=[fills.c.subaccount_id, fills.c.sequence],
        )
        return [fill_of(r) for r in rows]


def _trade_values(t: Trade) -> dict[str, Any]:
    return {
        "exit_order_id": t.exit_order_id,
        "exit_time": t.exit_time,
        "exit_price": t.exit_price,
        "exit_size": None if t.is_open else t.amount,
        "exit_reason": t.exit_reason.value if t.exit_reason else None,
        "stop_loss": t.stop,
        "take_profit": t.target,
        "pnl_usd": t.pnl,
        "pnl_pct": t.return_on_margin,
        "fees_usd": t.fees,
    }


def _trade(row: RowMapping) -> Trade:
    return Trade(
        id=row["id"],
        strategy_id=row["strategy_id"],
        subaccount=row["subaccount_id"],
        symbol=row["symbol"],
        direction=Direction.LONG if row["direction"] == "LONG" else Direction.SHORT,
        entry_time=row["entry_time"],
        entry_price=row["entry_price"],
        amount=row["entry_size"],
        leverage=row["leverage_ratio"] or row["leverage"] or 1.0,
        entry_order_id=row["entry_order_id"],
        stop=row["stop_loss"],
        target=row["take_profit"],
        fees=row["fees_usd"] or 0.0,
        exit_time=row["exit_time"],
        exit_price=row["exit_price"],
        exit_reason=row["exit_reason"],
        exit_order_id=row["exit_order_id"],
        pnl=row["pnl_usd"],
        return_on_margin=row["pnl_pct"],
    )


class SqlAlchemyTradeRepository:
    def __init__(self, connection: Connection) -> None:
        self._rows = _Table(connection, trades, "id", "trade")

    def add(self, trade: Trade) -> None:
        values = {
            "id": trade.id,
            "strategy_id": trade.strategy_id,
            "symbol": trade.symbol,
            "subaccount_id": trade.subaccount,
            "direction": "LONG" if trade.direction is Direction.LONG else "SHORT",
            "entry_time": trade.entry_time,
            "entry_price": trade.entry_price,
            "entry_size": trade.amount,
            "entry_order_id": trade.entry_order_id,
            "leverage": round(trade.leverage),
            "leverage_ratio": trade.leverage,
            "created_at": trade.entry_time,
        }
        self._rows.insert(trade.id, values | _trade_values(trade))

    def save(self, trade: Trade) -> None:
        self._rows.update(trade.id, _trade_values(trade))

    def for_strategy(self, strategy_id: uuid.UUID) -> list[Trade]:
        rows = self._rows.rows(
            trades.c.strategy_id == strategy_id, order=[trades.c.entry_time, trades.c.id]
        )
        return [_trade(row) for row in rows]

    def count(self) -> int:
        query = sa.select(sa.func.count()).select_from(trades)
        return self._rows.connection.execute(query).scalar_one()

    def open_for(self, strategy_id: uuid.UUID) -> list[Trade]:
        rows = self._rows.rows(
            trades.c.strategy_id == strategy_id,
            trades.c.exit_time.is_(None),
            order=[trades.c.entry_time, trades.c.id],
        )
        return [_trade(row) for row in rows]


class SqlAlchemyHeartbeatRepository:
    """The ``service_heartbeats`` table."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def record(self, heartbeat: Heartbeat) -> None:
        values = attrs.asdict(heartbeat)
        key = (service_heartbeats.c.service == heartbeat.service) & (
            service_heartbeats.c.owner == heartbeat.owner
        )
        with self._connection.begin_nested():
            done = self._connection.execute(service_heartbeats.update().where(key).values(values))
            if done.rowcount == 0:
                self._connection.execute(service_heartbeats.insert().values(values))

    def all(self) -> list[Heartbeat]:
        query = sa.select(service_heartbeats).order_by(
            service_heartbeats.c.service, service_heartbeats.c.owner
        )
        return [Heartbeat(**row) for row in self._connection.execute(query).mappings()]
