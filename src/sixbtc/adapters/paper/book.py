"""The paper exchange's state of one subaccount (a :class:`Book`: cash and, per symbol, the bars
seen, the position held and the orders waiting), its JSON document, and the stores that keep it.

A store hands out the :class:`Account` of one or more subaccounts in one transaction (a transfer
needs the main account and a subaccount): the book as it was, the request ids seen before, and the
fills made; everything is kept at once when the block ends without an error, and nothing
otherwise. The in-memory store keeps the same
documents as the database one (:mod:`sixbtc.adapters.sqlalchemy.paper`), so both go through the
same conversion.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from typing import Any, Protocol

import attrs

from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.orders import Fill, OrderRequest, Protection, Side
from sixbtc.domain.position import Direction, ExitReason, OpenPosition


@attrs.define
class Waiting:
    """An order waiting for the next bar's open; a closing one says why it closes."""

    request: OrderRequest
    protection: Protection | None = None
    reason: ExitReason = ExitReason.SIGNAL


@attrs.define
class Held:
    """A position with what it needs to exit: its protection and a closing order waiting."""

    position: OpenPosition
    amount: float
    protection: Protection
    entry_order: str
    closing: Waiting | None = None


@attrs.define
class Lane:
    """One symbol of one subaccount: bars seen (a position's holding time counts them), the
    last one's time and close, the position and the entries waiting."""

    bars: int = 0
    last_time: int | None = None
    last_close: float | None = None
    held: Held | None = None
    entries: list[Waiting] = attrs.field(factory=list)


@attrs.define
class Book:
    """A subaccount: its cash, its last fill's sequence number and its lanes by symbol."""

    cash: float = 0.0
    fills: int = 0
    lanes: dict[str, Lane] = attrs.field(factory=dict)

    def lane(self, symbol: str) -> Lane:
        return self.lanes.setdefault(symbol, Lane())


@attrs.define
class Account:
    """One subaccount's book inside a store transaction."""

    subaccount: int
    book: Book
    known: Callable[[str], bool]
    seen: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    made: list[Fill] = attrs.field(factory=list)

    def is_known(self, request_id: str) -> bool:
        """Whether an order, close or transfer with this id was taken before."""
        return request_id in self.seen or self.known(request_id)

    def remember(self, request_id: str, what: dict[str, Any]) -> None:
        self.seen[request_id] = what

    def fill(
        self,
        client_order_id: str,
        symbol: str,
        side: Side,
        amount: float,
        price: float,
        fee: float,
        at: datetime,
        reason: ExitReason | None,
    ) -> None:
        """Record an execution with the next sequence number."""
        self.book.fills += 1
        self.made.append(
            Fill(
                self.subaccount,
                self.book.fills,
                client_order_id,
                symbol,
                side,
                amount,
                price,
                fee,
                at,
                reason,
            )
        )


class PaperStore(Protocol):
    """Where the paper exchange keeps its books."""

    def accounts(self, subaccounts: Sequence[int]) -> AbstractContextManager[list[Account]]:
        """The accounts of ``subaccounts`` (in that order), alone in one transaction; kept when
        the block succeeds."""
        ...

    def fills(self, subaccount: int, after: int) -> list[Fill]:
        """The subaccount's fills with a sequence number above ``after``, in order."""
        ...


# --- documents ----------------------------------------------------------------------------------


def _request(r: OrderRequest) -> dict[str, Any]:
    return {
        "id": r.client_order_id,
        "subaccount": r.subaccount,
        "symbol": r.symbol,
        "side": r.side.value,
        "amount": r.amount,
        "reduce_only": r.reduce_only,
    }


def _request_of(d: dict[str, Any]) -> OrderRequest:
    return OrderRequest(
        d["id"], d["subaccount"], d["symbol"], d["side"], d["amount"], d["reduce_only"]
    )


def _protection(p: Protection | None) -> dict[str, Any] | None:
    return None if p is None else {"parameters": p.parameters.as_dict(), "atr": p.atr}


def _protection_of(d: dict[str, Any] | None) -> Protection | None:
    if d is None:
        return None
    return Protection(ExecutionParameters(**d["parameters"]), float(d["atr"]))


def _waiting(w: Waiting | None) -> dict[str, Any] | None:
    if w is None:
        return None
    return {
        "request": _request(w.request),
        "protection": _protection(w.protection),
        "reason": w.reason.value,
    }


def _waiting_of(d: dict[str, Any] | None) -> Waiting | None:
    if d is None:
        return None
    return Waiting(
        _request_of(d["request"]), _protection_of(d["protection"]), ExitReason(d["reason"])
    )


def _held(h: Held | None) -> dict[str, Any] | None:
    if h is None:
        return None
    p = h.position
    return {
        "direction": int(p.direction),
        "entry_price": p.entry_price,
        "entry_bar": p.entry_bar,
        "stop": p.stop,
        "target": p.target,
        "amount": h.amount,
        "protection": _protection(h.protection),
        "entry_order": h.entry_order,
        "closing": _waiting(h.closing),
    }


def _held_of(d: dict[str, Any] | None) -> Held | None:
    if d is None:
        return None
    position = OpenPosition(
        Direction(d["direction"]), d["entry_price"], d["entry_bar"], d["stop"], d["target"]
    )
    protection = _protection_of(d["protection"])
    assert protection is not None
    return Held(position, d["amount"], protection, d["entry_order"], _waiting_of(d["closing"]))


def document(book: Book) -> dict[str, Any]:
    """The book as plain JSON values (floats kept exactly; NaN as JSON's NaN token)."""
    return {
        "cash": book.cash,
        "fills": book.fills,
        "lanes": {
            symbol: {
                "bars": lane.bars,
                "last_time": lane.last_time,
                "last_close": lane.last_close,
                "held": _held(lane.held),
                "entries": [_waiting(w) for w in lane.entries],
            }
            for symbol, lane in book.lanes.items()
        },
    }


def book_of(d: dict[str, Any] | None) -> Book:
    """The book of a document (an empty one for None)."""
    if d is None:
        return Book()
    lanes = {
        symbol: Lane(
            lane["bars"],
            lane["last_time"],
            lane["last_close"],
            _held_of(lane["held"]),
            [w for w in map(_waiting_of, lane["entries"]) if w is not None],
        )
        for symbol, lane in d["lanes"].items()
    }
    return Book(d["cash"], d["fills"], lanes)


class MemoryPaperStore:
    """Books in this process's memory (tests, the in-memory factory), kept as documents."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._books: dict[int, dict[str, Any]] = {}
        self._seen: dict[str, dict[str, Any]] = {}
        self._fills: dict[int, list[Fill]] = defaultdict(list)

    @contextmanager
    def accounts(self, subaccounts: Sequence[int]) -> Iterator[list[Account]]:
        with self._lock:
            accounts = [
                Account(n, book_of(self._books.get(n)), self._seen.__contains__)
                for n in subaccounts
            ]
            yield accounts
            for account in accounts:
                self._books[account.subaccount] = document(account.book)
                self._seen.update(account.seen)
                self._fills[account.subaccount].extend(account.made)

    def fills(self, subaccount: int, after: int) -> list[Fill]:
        with self._lock:
            return [f for f in self._fills[subaccount] if f.sequence > after]
