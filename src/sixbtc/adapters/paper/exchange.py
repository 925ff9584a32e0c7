"""``PaperExchange``: the :class:`~sixbtc.application.ports.Exchange` port simulated on closed
candles by the domain's trading rules, so that a strategy trades on paper exactly as it was
backtested.

Each subaccount fills on the candles its strategy trades on (:meth:`PaperExchange.observe`, bars
seen before are skipped). A market order placed while a bar forms fills at the open of the next
bar; one that opens a position attaches its :class:`~sixbtc.domain.orders.Protection` at the fill
with :meth:`OpenPosition.open` (which refuses an ATR entry whose stop cannot be placed). On each
bar, per position, in the order of :mod:`sixbtc.domain.position`: a closing order waiting fills at
the open, else a gap beyond a level fills at the open; inside the bar the stop, then the target;
at its close the maximum holding time. Every fill pays ``Costs.per_side`` of its notional, so a
closed position's return on margin is the backtest's.

The books live in a :class:`~sixbtc.adapters.paper.book.PaperStore` (memory or the database),
one transaction per call: a restart continues where it was, and a request id seen before (order,
close or transfer) does nothing again. The main account (book ``MAIN``) starts with
``initial_capital``; transfers move cash between it and a subaccount in one transaction, never
more than the giving side holds.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import numpy as np

from sixbtc.adapters.paper.book import Account, Held, Lane, MemoryPaperStore, PaperStore, Waiting
from sixbtc.application.errors import ExchangeError
from sixbtc.domain.backtest import Costs
from sixbtc.domain.candles import Candles, from_ms
from sixbtc.domain.orders import Fill, OrderRequest, Position, Protection, Side, client_order_id
from sixbtc.domain.position import Bar, Direction, Exit, ExitReason, OpenPosition

#: The main account's book: subaccounts are numbered from 1.
MAIN = 0
_OPENING = "paper-main-account-opening"


class PaperExchange:
    """A main account and subaccounts with cash and positions, filled on the candles handed to
    :meth:`observe`."""

    def __init__(
        self, costs: Costs, store: PaperStore | None = None, initial_capital: float = 0.0
    ) -> None:
        self.costs = costs
        self.store = store if store is not None else MemoryPaperStore()
        self.initial_capital = initial_capital

    @contextmanager
    def _account(self, subaccount: int) -> Iterator[Account]:
        with self.store.accounts([subaccount]) as (account,):
            yield account

    def main_balance(self) -> float:
        with self.store.accounts([MAIN]) as (main,):
            self._open(main)
            return main.book.cash

    def transfer(self, subaccount: int, amount: float, transfer_id: str) -> None:
        if subaccount == MAIN:
            raise ValueError(f"subaccount {MAIN} is the main account; expected a subaccount >= 1")
        with self.store.accounts([MAIN, subaccount]) as (main, account):
            self._open(main)
            if account.is_known(transfer_id):
                return
            giver, name = (
                (main, "the main account") if amount > 0 else (account, f"subaccount {subaccount}")
            )
            if giver.book.cash < abs(amount):
                raise ExchangeError(
                    f"{name}: cannot move {abs(amount):.2f} out; it holds {giver.book.cash:.2f} "
                    "in cash"
                )
            main.book.cash -= amount
            account.book.cash += amount
            account.remember(transfer_id, {"transfer": amount})

    def _open(self, main: Account) -> None:
        """The main account's first use: it receives ``initial_capital``."""
        if not main.is_known(_OPENING):
            main.book.cash += self.initial_capital
            main.remember(_OPENING, {"initial_capital": self.initial_capital})

    def equity(self, subaccount: int) -> float:
        with self._account(subaccount) as account:
            book = account.book
            return book.cash + sum(
                _unrealised(lane.held, lane.last_close)
                for lane in book.lanes.values()
                if lane.held is not None
            )

    def positions(self, subaccount: int) -> list[Position]:
        with self._account(subaccount) as account:
            return [
                Position(
                    symbol,
                    int(h.position.direction) * h.amount,
                    h.position.entry_price,
                    h.position.stop,
                    h.position.target,
                )
                for symbol, lane in account.book.lanes.items()
                if (h := lane.held) is not None
            ]

    def open_orders(self, subaccount: int) -> list[OrderRequest]:
        with self._account(subaccount) as account:
            found = []
            for lane in account.book.lanes.values():
                found += [w.request for w in lane.entries]
                if lane.held is not None and lane.held.closing is not None:
                    found.append(lane.held.closing.request)
            return found

    def place_order(self, order: OrderRequest, protection: Protection | None = None) -> None:
        if not order.reduce_only and protection is None:
            raise ValueError(f"order {order.client_order_id}: opens a position; needs protection")
        with self._account(order.subaccount) as account:
            if account.is_known(order.client_order_id):
                return
            account.remember(order.client_order_id, {"order": order.side.value})
            lane = account.book.lane(order.symbol)
            if not order.reduce_only:
                lane.entries.append(Waiting(order, protection))
            elif lane.held is not None and lane.held.closing is None:
                lane.held.closing = Waiting(order)

    def order_known(self, subaccount: int, client_order_id: str) -> bool:
        with self._account(subaccount) as account:
            return account.is_known(client_order_id)

    def keep_alive(self, subaccount: int, seconds: int) -> None:
        """Nothing to do: paper orders rest only while the executor shows the exchange candles."""

    @property
    def connection(self) -> int:
        """Always 0: the paper books are never out of reach."""
        return 0

    def cancel_order(self, subaccount: int, client_order_id: str) -> None:
        with self._account(subaccount) as account:
            for lane in account.book.lanes.values():
                lane.entries = [
                    w for w in lane.entries if w.request.client_order_id != client_order_id
                ]
                closing = lane.held.closing if lane.held is not None else None
                if closing is not None and closing.request.client_order_id == client_order_id:
                    lane.held.closing = None

    def close_all(self, subaccount: int, request_id: str) -> None:
        with self._account(subaccount) as account:
            if account.is_known(request_id):
                return
            account.remember(request_id, {"close_all": True})
            for symbol, lane in account.book.lanes.items():
                lane.entries = []
                held = lane.held
                if held is not None:
                    side = Side.closing(held.position.direction)
                    request = OrderRequest(
                        client_order_id(request_id, symbol, reason=ExitReason.END),
                        subaccount,
                        symbol,
                        side,
                        held.amount,
                        reduce_only=True,
                    )
                    held.closing = Waiting(request, reason=ExitReason.END)

    def fills(self, subaccount: int, after: int = 0) -> list[Fill]:
        return self.store.fills(subaccount, after)

    def observe(self, subaccount: int, windows: Sequence[Candles]) -> None:
        with self._account(subaccount) as account:
            for c in windows:
                lane = account.book.lane(c.symbol)
                start = 0
                if lane.last_time is not None:
                    start = int(np.searchsorted(c.time, lane.last_time, side="right"))
                for i in range(start, len(c)):
                    bar = Bar(
                        float(c.open[i]), float(c.high[i]), float(c.low[i]), float(c.close[i])
                    )
                    self._bar(account, lane, c.symbol, int(c.time[i]), bar)

    def _bar(self, account: Account, lane: Lane, symbol: str, time: int, bar: Bar) -> None:
        """One closed bar of one lane: at its open, then inside it, then at its close."""
        index = lane.bars
        lane.bars += 1
        held = lane.held
        if held is not None:
            signal = -int(held.position.direction) if held.closing else 0
            exit = held.position.exit_at_open(signal, bar.open)
            if exit is not None:
                self._close(account, lane, symbol, time, exit)
        else:
            self._enter(account, lane, symbol, time, bar, index)
        held = lane.held
        if held is not None:
            p = held.protection.parameters
            exit = held.position.exit_within(bar, index, p.max_hold_bars, last=False)
            if exit is not None:
                self._close(account, lane, symbol, time, exit)
        lane.last_time, lane.last_close = time, bar.close

    def _enter(
        self, account: Account, lane: Lane, symbol: str, time: int, bar: Bar, index: int
    ) -> None:
        """At the bar's open, the first entry waiting opens (unless the ATR guard refuses it);
        the others are dropped (one position per symbol)."""
        entries, lane.entries = lane.entries, []
        for waiting in entries:
            order, protection = waiting.request, waiting.protection
            assert protection is not None
            direction = Direction(order.side.sign)
            position = OpenPosition.open(
                direction, bar.open, index, protection.parameters, protection.atr
            )
            if position is None:
                continue
            lane.held = Held(position, order.amount, protection, order.client_order_id)
            self._fill(
                account,
                order.client_order_id,
                symbol,
                order.side,
                order.amount,
                bar.open,
                time,
                None,
            )
            return

    def _close(self, account: Account, lane: Lane, symbol: str, time: int, exit: Exit) -> None:
        held = lane.held
        assert held is not None
        lane.held = None
        position = held.position
        if exit.reason is ExitReason.SIGNAL and held.closing is not None:
            cloid, reason = held.closing.request.client_order_id, held.closing.reason
        else:
            cloid, reason = client_order_id(held.entry_order, reason=exit.reason), exit.reason
        account.book.cash += (
            int(position.direction) * held.amount * (exit.price - position.entry_price)
        )
        side = Side.closing(position.direction)
        self._fill(account, cloid, symbol, side, held.amount, exit.price, time, reason)

    def _fill(
        self,
        account: Account,
        cloid: str,
        symbol: str,
        side: Side,
        amount: float,
        price: float,
        time: int,
        reason: ExitReason | None,
    ) -> None:
        fee = amount * price * self.costs.per_side
        account.book.cash -= fee
        account.fill(cloid, symbol, side, amount, price, fee, from_ms(time), reason)


def _unrealised(held: Held, last_close: float | None) -> float:
    price = held.position.entry_price if last_close is None else last_close
    return int(held.position.direction) * held.amount * (price - held.position.entry_price)
