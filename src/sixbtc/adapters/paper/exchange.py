"""``PaperExchange``: simulated fills on closed candles by the domain's trading rules, so that a
strategy trades on paper exactly as it was backtested.

A market order placed while a bar is forming fills at the open of the next bar; an order that
opens a position carries its :class:`~sixbtc.domain.orders.Protection` (stop and target as
fractions or ATR multiples of the fill price, maximum holding time), attached at the fill with
:meth:`OpenPosition.open`, which also refuses an ATR entry whose stop cannot be placed. On each
closed bar, per position, in the order of :mod:`sixbtc.domain.position`: an exit order waiting
fills at the open (``signal``), else a gap beyond a level fills at the open; inside the bar the
stop, then the target; at its close the maximum holding time. Every fill pays
``Costs.per_side`` of its notional, so a closed position's return on margin is the backtest's.

The state lives in memory here (one process); orders are idempotent by client order id.
"""

from __future__ import annotations

from collections import defaultdict

import attrs
import numpy as np

from sixbtc.adapters.engine.run import SimulatedTrade
from sixbtc.domain.backtest import Costs
from sixbtc.domain.candles import Candles
from sixbtc.domain.orders import OrderFill, OrderRequest, Position, Protection, Side
from sixbtc.domain.position import Bar, Direction, Exit, ExitReason, OpenPosition


@attrs.define
class _Held:
    """A position of one subaccount on one symbol, with what it needs to exit."""

    position: OpenPosition
    amount: float
    protection: Protection
    entry_time: int
    exit_order: OrderRequest | None = None


@attrs.define
class _Book:
    cash: float = 0.0
    held: dict[str, _Held] = attrs.field(factory=dict)
    pending: list[tuple[OrderRequest, Protection | None]] = attrs.field(factory=list)
    fills: list[OrderFill] = attrs.field(factory=list)
    closed: list[SimulatedTrade] = attrs.field(factory=list)


class PaperExchange:
    """Subaccounts with cash and positions, filled on the bars handed to :meth:`on_bar`."""

    def __init__(self, costs: Costs) -> None:
        self.costs = costs
        self._books: dict[int, _Book] = defaultdict(_Book)
        self._seen: set[str] = set()
        #: Bars processed per symbol: a position's holding time counts them.
        self._bars: dict[str, int] = defaultdict(int)
        self._last_close: dict[str, float] = {}
        self._last_time: dict[str, int] = {}

    def fund(self, subaccount: int, amount: float) -> None:
        """Move ``amount`` from the main account to the subaccount (negative: back)."""
        self._books[subaccount].cash += amount

    def balance(self, subaccount: int) -> float:
        """Equity: cash plus each position's value at its symbol's last close."""
        book = self._books[subaccount]
        return book.cash + sum(
            int(h.position.direction) * h.amount
            * (self._last_close.get(symbol, h.position.entry_price) - h.position.entry_price)
            for symbol, h in book.held.items()
        )  # fmt: skip

    def positions(self, subaccount: int) -> list[Position]:
        return [
            Position(symbol, int(h.position.direction) * h.amount, h.position.entry_price)
            for symbol, h in self._books[subaccount].held.items()
        ]

    def fills(self, subaccount: int) -> list[OrderFill]:
        return list(self._books[subaccount].fills)

    def closed_trades(self, subaccount: int) -> list[SimulatedTrade]:
        """The subaccount's closed positions, in the order they closed."""
        return list(self._books[subaccount].closed)

    def place_order(self, order: OrderRequest, protection: Protection | None = None) -> None:
        """Queue a market order for the next bar's open; its client id again is ignored. An
        order that opens a position needs ``protection``; a reduce-only one closes it."""
        if order.client_order_id in self._seen:
            return
        if not order.reduce_only and protection is None:
            raise ValueError(f"order {order.client_order_id}: opens a position; needs protection")
        self._seen.add(order.client_order_id)
        book = self._books[order.subaccount]
        held = book.held.get(order.symbol)
        if order.reduce_only and held is not None:
            held.exit_order = order
        else:
            book.pending.append((order, protection))

    def sync(self, candles: Candles) -> int:
        """Process the closed bars of ``candles`` newer than the last one processed for their
        symbol (a window that overlaps what was seen is fine); returns how many were new."""
        last = self._last_time.get(candles.symbol)
        start = 0 if last is None else int(np.searchsorted(candles.time, last, side="right"))
        c = candles
        for i in range(start, len(c)):
            self.on_bar(c.symbol, int(c.time[i]), Bar(c.open[i], c.high[i], c.low[i], c.close[i]))
        return len(c) - start

    def on_bar(self, symbol: str, time: int, bar: Bar) -> None:
        """Process one closed bar of ``symbol`` (opening at ``time``, UTC ms) on every book."""
        index = self._bars[symbol]
        self._bars[symbol] += 1
        for book in self._books.values():
            self._open(book, symbol, time, bar, index)
            held = book.held.get(symbol)
            if held is None:
                continue
            p = held.protection.parameters
            exit = held.position.exit_within(bar, index, p.max_hold_bars, last=False)
            if exit is not None:
                self._close(book, symbol, time, exit, None)
        self._last_close[symbol] = bar.close
        self._last_time[symbol] = time

    def _open(self, book: _Book, symbol: str, time: int, bar: Bar, index: int) -> None:
        """At the bar's open: an exit order or a gap closes; a waiting entry opens."""
        held = book.held.get(symbol)
        if held is not None:
            signal = -int(held.position.direction) if held.exit_order else 0
            exit = held.position.exit_at_open(signal, bar.open)
            if exit is not None:
                self._close(book, symbol, time, exit, held.exit_order)
            return
        waiting = [(o, p) for o, p in book.pending if o.symbol == symbol]
        book.pending = [(o, p) for o, p in book.pending if o.symbol != symbol]
        for order, protection in waiting:
            if order.reduce_only or protection is None:
                continue  # nothing to reduce any more
            direction = Direction(order.side.sign)
            position = OpenPosition.open(
                direction, bar.open, index, protection.parameters, protection.atr
            )
            if position is None:
                continue  # the ATR guard: the signal is not taken
            book.held[symbol] = _Held(position, order.amount, protection, time)
            self._fill(book, order, bar.open)
            return

    def _fill(self, book: _Book, order: OrderRequest, price: float) -> None:
        fee = order.amount * price * self.costs.per_side
        book.cash -= fee
        book.fills.append(
            OrderFill(order.client_order_id, order.symbol, order.side, order.amount, price, fee)
        )

    def _close(
        self, book: _Book, symbol: str, time: int, exit: Exit, order: OrderRequest | None
    ) -> None:
        held = book.held.pop(symbol)
        position = held.position
        side = Side.closing(position.direction)
        closing = order or OrderRequest(
            f"{exit.reason}-{symbol}-{time}", 0, symbol, side, held.amount, reduce_only=True
        )
        book.cash += int(position.direction) * held.amount * (exit.price - position.entry_price)
        self._fill(book, attrs.evolve(closing, amount=held.amount), exit.price)
        leverage = held.protection.parameters.leverage
        book.closed.append(
            SimulatedTrade(
                symbol=symbol,
                direction=position.direction,
                entry_time=held.entry_time,
                entry_price=position.entry_price,
                exit_time=time,
                exit_price=exit.price,
                reason=ExitReason(exit.reason),
                return_on_margin=self.costs.return_on_margin(
                    position.direction, position.entry_price, exit.price, leverage
                ),
            )
        )
