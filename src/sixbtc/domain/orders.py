"""Orders, fills and exchange positions: the value objects the executor, the paper exchange and
the live exchange speak. Sides are a :class:`Side`, never strings."""

from __future__ import annotations

import enum
import hashlib
import math
import uuid
from datetime import datetime

import attrs

from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.position import Direction, ExitReason

#: The last byte of a client order id: what the order does (an entry or a transfer: 0).
_KINDS: tuple[ExitReason | None, ...] = (None, *ExitReason)


def client_order_id(*parts: object, reason: ExitReason | None = None) -> str:
    """The client order id of what ``parts`` name (a strategy, a coin, a candle, an entry): the
    same parts give the same id, so a retry is recognised; 128 bits in hex, ``0x`` first, the form
    Hyperliquid requires of a ``cloid``. An order that closes a position says why in its last
    byte (``reason``), so that any venue's fill tells it back (:func:`exit_reason`)."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).hexdigest()
    return f"0x{digest[:30]}{_KINDS.index(reason):02x}"


def exit_reason(client_order_id: str) -> ExitReason | None:
    """Why an order of ours with this id closes a position (None: it opens one); ValueError for
    an id no order of ours can carry."""
    try:
        if len(client_order_id) != 34 or not client_order_id.startswith("0x"):
            raise ValueError
        return _KINDS[int(client_order_id[-2:], 16)]
    except (ValueError, IndexError):
        raise ValueError(
            f"client order id: {client_order_id!r}; expected one of ours (0x and 32 hex digits, "
            f"the last byte below {len(_KINDS)})"
        ) from None


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
class Position:
    """An open position of one subaccount on ``symbol``; ``amount`` is signed (> 0 long), with
    its resting stop and target."""

    symbol: str
    amount: float
    entry_price: float
    stop: float | None = None
    target: float | None = None

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
    crash or a timeout sends the same id again, so the exchange never trades it twice.

    ``candle`` is the open time of the closed candle it acts on (an order not sent before the
    next candle is cancelled, never sent late); ``atr`` is the ATR its protection uses (None:
    stops in percent, or an exit)."""

    def protection(self, parameters: ExecutionParameters) -> Protection | None:
        """What the order attaches at its fill (None for a reduce-only order)."""
        if self.request.reduce_only:
            return None
        return Protection(parameters, math.nan if self.atr is None else self.atr)

    strategy_id: uuid.UUID
    request: OrderRequest
    created_at: datetime
    candle: datetime
    atr: float | None = None
    status: OrderStatus = OrderStatus.PENDING

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id

    def sent(self) -> None:
        """The exchange has it (resting or about to fill)."""
        if self.status is OrderStatus.PENDING:
            self.status = OrderStatus.OPEN

    def filled(self) -> None:
        self.status = OrderStatus.FILLED

    def cancelled(self) -> None:
        self.status = OrderStatus.CANCELLED

    def rejected(self) -> None:
        self.status = OrderStatus.REJECTED


@attrs.frozen
class Fill:
    """One execution in a subaccount, numbered by the exchange (``sequence`` grows by one per
    fill of the subaccount): ``fee`` in quote currency; ``reason`` says why a position closed
    (None for a fill that opens one). A fill of a protective or closing order the exchange made
    carries a client id derived from the entry's."""

    subaccount: int
    sequence: int
    client_order_id: str
    symbol: str
    side: Side = attrs.field(converter=Side)
    amount: float
    price: float
    fee: float
    at: datetime
    reason: ExitReason | None = attrs.field(
        default=None, converter=attrs.converters.optional(ExitReason)
    )


@attrs.frozen
class Protection:
    """What an order that opens a position attaches to it at the fill: stop, target and holding
    time of ``parameters`` (fractions of the fill price, or multiples of ``atr``, the ATR of the
    bars closed before the entry)."""

    parameters: ExecutionParameters
    atr: float = math.nan
