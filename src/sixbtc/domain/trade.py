"""A live trade: one position of a LIVE strategy on one coin, from entry to exit."""

from __future__ import annotations

import uuid
from datetime import datetime

import attrs

from sixbtc.domain.position import Direction, ExitReason


@attrs.define
class Trade:
    """Entry (and, once closed, exit) of one position. ``fees`` in quote currency, both sides;
    ``return_on_margin`` is the spec's formula, filled when it closes."""

    strategy_id: uuid.UUID
    subaccount: int
    symbol: str
    direction: Direction = attrs.field(converter=Direction)
    entry_time: datetime
    entry_price: float
    amount: float
    leverage: float
    entry_order_id: str
    stop: float | None = None
    target: float | None = None
    fees: float = 0.0
    id: uuid.UUID = attrs.field(factory=uuid.uuid4)
    exit_time: datetime | None = None
    exit_price: float | None = None
    exit_reason: ExitReason | None = attrs.field(
        default=None, converter=attrs.converters.optional(ExitReason)
    )
    exit_order_id: str | None = None
    pnl: float | None = None
    return_on_margin: float | None = None

    @property
    def is_open(self) -> bool:
        return self.exit_time is None

    def add_entry(self, amount: float, price: float, fee: float) -> None:
        """Another fill of the entry order (a partial fill): the size grows, the entry price is
        the size-weighted mean."""
        total = self.amount + amount
        self.entry_price = (self.amount * self.entry_price + amount * price) / total
        self.amount, self.fees = total, self.fees + fee

    def split(self, amount: float) -> Trade:
        """The part of ``amount`` of this open trade, as its own open trade (a partial exit closes
        it); this trade keeps the rest. Entry fees are shared by size."""
        if not 0 < amount < self.amount:
            raise ValueError(f"amount: {amount}; expected between 0 and {self.amount}")
        fees = self.fees * amount / self.amount
        part = attrs.evolve(self, id=uuid.uuid4(), amount=amount, fees=fees)
        self.amount, self.fees = self.amount - amount, self.fees - fees
        return part

    def close(
        self, *, at: datetime, price: float, reason: ExitReason, fee: float, order_id: str | None
    ) -> None:
        """Record the exit: its time, price, reason and fee; profit and return follow."""
        if not self.is_open:
            raise ValueError(f"trade {self.id}: already closed at {self.exit_time}")
        self.exit_time, self.exit_price, self.exit_reason = at, price, ExitReason(reason)
        self.exit_order_id = order_id
        self.fees += fee
        self.pnl = int(self.direction) * self.amount * (price - self.entry_price) - self.fees
        margin = self.amount * self.entry_price / self.leverage
        self.return_on_margin = self.pnl / margin
