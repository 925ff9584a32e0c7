"""An in-memory exchange: market orders fill at a given price, idempotent by client order id, and
pay ``Costs.per_side`` (fee plus slippage) on their notional, as in the backtest."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from sixbtc.application.errors import ExchangeError
from sixbtc.domain.backtest import Costs
from sixbtc.domain.orders import OrderFill, OrderRequest, Position


class InMemoryExchange:
    """Subaccounts with a cash balance and net positions; fills at ``price_of(symbol)``.

    A second order with an already used ``client_order_id`` returns the first fill unchanged.
    """

    def __init__(
        self,
        price_of: Callable[[str], float],
        balances: dict[int, float] | None = None,
        costs: Costs | None = None,
    ) -> None:
        self._price_of = price_of
        self._costs = costs or Costs()
        self._cash: dict[int, float] = defaultdict(float, balances or {})
        self._positions: dict[int, dict[str, Position]] = defaultdict(dict)
        self._fills: dict[str, OrderFill] = {}

    def balance(self, subaccount: int) -> float:
        equity = self._cash[subaccount]
        for position in self._positions[subaccount].values():
            equity += position.amount * (self._price_of(position.symbol) - position.entry_price)
        return equity

    def positions(self, subaccount: int) -> list[Position]:
        return list(self._positions[subaccount].values())

    def place_order(self, order: OrderRequest) -> OrderFill:
        if order.client_order_id in self._fills:
            return self._fills[order.client_order_id]
        price = self._price_of(order.symbol)
        signed = order.amount * order.side.sign
        book = self._positions[order.subaccount]
        held = book.get(order.symbol)
        if order.reduce_only and (held is None or held.amount * signed >= 0):
            raise ExchangeError(
                f"order {order.client_order_id}: reduce-only with nothing to reduce"
            )
        fee = abs(signed) * price * self._costs.per_side
        self._cash[order.subaccount] -= fee
        self._apply(book, order.symbol, held, signed, price, order.subaccount)
        fill = OrderFill(order.client_order_id, order.symbol, order.side, order.amount, price, fee)
        self._fills[order.client_order_id] = fill
        return fill

    def _apply(self, book, symbol, held, signed, price, subaccount) -> None:
        if held is None:
            book[symbol] = Position(symbol, signed, price)
            return
        new_amount = held.amount + signed
        closing = min(abs(signed), abs(held.amount)) if held.amount * signed < 0 else 0.0
        if closing:
            direction = 1.0 if held.amount > 0 else -1.0
            self._cash[subaccount] += direction * closing * (price - held.entry_price)
        if abs(new_amount) < 1e-12:
            del book[symbol]
        elif held.amount * new_amount < 0:
            book[symbol] = Position(symbol, new_amount, price)
        elif closing:
            book[symbol] = Position(symbol, new_amount, held.entry_price)
        else:
            entry = (held.amount * held.entry_price + signed * price) / new_amount
            book[symbol] = Position(symbol, new_amount, entry)
