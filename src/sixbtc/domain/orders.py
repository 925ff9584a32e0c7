"""Orders, fills and exchange positions: the value objects the executor, the paper exchange and
the live exchange speak. Sides are a :class:`Side`, never strings."""

from __future__ import annotations

import enum
import math
import uuid
from datetime import datetime

import attrs

from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.position import Direction


class Side(enum.StrEnum):
    """Which way an order trades; the values are the exchanges' labels."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """+1 for a buy, -1 for a sell: the sign of the exposure it adds."""
        return 1 if self is Side.BUY else -1

    @classmethod
    def opening(cls, direction: Direction) -> Side:
        """The side that opens a position of ``direction``."""
        return cls.BUY if direction is Direction.LONG else cls.SELL

    @classmethod
    def closing(cls, direction: Direction) -> Side:
        """The side that closes a position of ``direction``."""
        return cls.SELL if direction is Direction.LONG else cls.BUY


def _positive(instance: object, attribute: attrs.Attribute, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name}: {value}; expected a number > 0")


@attrs.frozen
class OrderRequest:
    """A market order of one subaccount; ``client_order_id`` makes retries idempotent."""

    client_order_id: str
    subaccount: int
    symbol: str
    side: Side = attrs.field(converter=Side)
    amount: float = attrs.field(validator=_positive)
    reduce_only: bool = False


@attrs.frozen
class OrderFill:
    """A filled order: ``amount`` in coins at the average ``price``, ``fee`` in quote currency."""

    client_order_id: str
    symbol: str
    side: Side
    amount: float
    price: float
    fee: float


@attrs.frozen
class Position:
    """An open position of one subaccount on ``symbol``; ``amount`` is signed (> 0 long)."""

    symbol: str
    amount: float
    entry_price: float

    @property
    def direction(self) -> Direction:
        return Direction.LONG if self.amount > 0 else Direction.SHORT


class OrderStatus(enum.StrEnum):
    """Where an order is: recorded before it is sent (PENDING), resting, or done."""

    PENDING = "pending"
    OPEN = "open"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


@attrs.define
class Order:
    """An order of a strategy, recorded with its client id before it is sent: a retry after a
    crash or a timeout sends the same id again, so the exchange never trades it twice."""

    strategy_id: uuid.UUID
    request: OrderRequest
    created_at: datetime
    status: OrderStatus = OrderStatus.PENDING

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    def filled(self) -> None:
        self.status = OrderStatus.FILLED

    def cancelled(self) -> None:
        self.status = OrderStatus.CANCELLED

    def rejected(self) -> None:
        self.status = OrderStatus.REJECTED


@attrs.frozen
class Fill:
    """One execution of an order (an order may fill in parts): ``fee`` in quote currency."""

    client_order_id: str
    symbol: str
    side: Side = attrs.field(converter=Side)
    amount: float
    price: float
    fee: float
    at: datetime


@attrs.frozen
class Protection:
    """What an order that opens a position attaches to it at the fill: stop, target and holding
    time of ``parameters`` (fractions of the fill price, or multiples of ``atr``, the ATR of the
    bars closed before the entry)."""

    parameters: ExecutionParameters
    atr: float = math.nan
