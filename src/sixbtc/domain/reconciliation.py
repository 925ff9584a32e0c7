"""Reconciliation: a subaccount's positions and open orders on the exchange against our records.

What matches is adopted; what does not is an :class:`Issue` that blocks new entries on the
subaccount until a later reconciliation finds it gone (the operator closed the position by hand,
``sixbtc flatten`` ran, the missing fill arrived).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

import attrs

from sixbtc.domain.orders import OrderRequest, Position, client_order_id
from sixbtc.domain.position import ExitReason
from sixbtc.domain.trade import Trade

#: Relative size difference still taken as the same position (exchange rounding).
SIZE_TOLERANCE = 1e-6


class IssueKind(enum.StrEnum):
    """What does not match; the values are the stored labels."""

    #: A position on the exchange that no trade of ours holds.
    UNKNOWN_POSITION = "unknown_position"
    #: An open trade of ours with no position on the exchange.
    MISSING_POSITION = "missing_position"
    #: A position whose size or direction is not what our open trades add up to.
    SIZE_MISMATCH = "size_mismatch"
    #: A position of ours without its resting stop.
    MISSING_STOP = "missing_stop"
    #: An order resting on the exchange that we did not place.
    UNKNOWN_ORDER = "unknown_order"


@attrs.define
class Issue:
    """One mismatch on one subaccount, about ``subject`` (a coin or an order id)."""

    subaccount: int
    kind: IssueKind = attrs.field(converter=IssueKind)
    subject: str
    detail: str
    found_at: datetime
    id: int | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None

    @property
    def key(self) -> tuple[int, IssueKind, str]:
        return (self.subaccount, self.kind, self.subject)

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    def resolve(self, at: datetime, by: str) -> None:
        self.resolved_at, self.resolved_by = at, by


@attrs.frozen
class Finding:
    """A mismatch found now, before it is stored as an :class:`Issue`."""

    kind: IssueKind
    subject: str
    detail: str


def protective_ids(trades: Sequence[Trade]) -> set[str]:
    """The ids of the stops and targets resting for the open ``trades``."""
    return {
        client_order_id(t.entry_order_id, reason=reason)
        for t in trades
        for reason in (ExitReason.STOP_LOSS, ExitReason.TAKE_PROFIT)
    }


def compare(
    positions: Sequence[Position],
    open_orders: Sequence[OrderRequest],
    open_trades: Sequence[Trade],
    our_orders: Collection[str],
) -> list[Finding]:
    """What does not match between the exchange (``positions``, ``open_orders``) and our
    records (``open_trades`` of the subaccount, the ids of ``our_orders``)."""
    found: list[Finding] = []
    held: dict[str, float] = defaultdict(float)
    for trade in open_trades:
        held[trade.symbol] += int(trade.direction) * trade.amount
    stops = {t.symbol for t in open_trades if t.stop is not None}
    on_exchange = {p.symbol: p for p in positions}
    for symbol, position in on_exchange.items():
        ours = held.get(symbol)
        if ours is None:
            found.append(
                Finding(
                    IssueKind.UNKNOWN_POSITION,
                    symbol,
                    f"{position.amount:+g} {symbol} at {position.entry_price:g} that no trade "
                    "of ours opened",
                )
            )
        elif abs(position.amount - ours) > SIZE_TOLERANCE * max(abs(ours), abs(position.amount)):
            found.append(
                Finding(
                    IssueKind.SIZE_MISMATCH,
                    symbol,
                    f"{position.amount:+g} {symbol} on the exchange; our open trades hold "
                    f"{ours:+g}",
                )
            )
        elif symbol in stops and position.stop is None:
            found.append(
                Finding(IssueKind.MISSING_STOP, symbol, f"{symbol}: no stop rests on the exchange")
            )
    for symbol, amount in held.items():
        if symbol not in on_exchange:
            found.append(
                Finding(
                    IssueKind.MISSING_POSITION,
                    symbol,
                    f"our open trades hold {amount:+g} {symbol}; the exchange shows no position",
                )
            )
    expected = set(our_orders) | protective_ids(open_trades)
    for order in open_orders:
        if order.client_order_id not in expected:
            found.append(
                Finding(
                    IssueKind.UNKNOWN_ORDER,
                    order.client_order_id or f"{order.symbol} (no client id)",
                    f"{order.side} {order.amount:g} {order.symbol} that we did not place",
                )
            )
    return found
