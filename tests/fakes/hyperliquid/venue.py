"""The fake Hyperliquid's state: accounts (the main wallet and its subaccounts) with USDC cash,
one net position per coin, orders (IOC and GTC limits, stop-market and take-profit triggers),
fills, ledger entries and scheduled cancels, moved by the prices a test sets.

Prices move along a path: :meth:`Venue.walk` visits each price in turn (a trigger crossed on the
way fills at its trigger price), :meth:`Venue.set_price` jumps (a trigger crossed fills at the new
price, as a gap would). A reduce-only order never flips a position; one with nothing left to
reduce is cancelled. Each fill pays ``fee`` of its notional. All times are the :class:`Clock`'s.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from typing import Any

import attrs

#: The coins of ``fixtures/ccxt/markets/hyperliquid.json`` by asset index, with szDecimals.
ASSETS = {0: ("BTC", 5), 1: ("ETH", 4), 5: ("SOL", 2), 65: ("ADA", 0), 75: ("MEME", 0)}
DEFAULT_LEVERAGE = 20


class VenueError(Exception):
    """A request the venue refuses; its text is the venue's error message."""


@attrs.define
class Clock:
    """The venue's time in ms: the wall clock moved by ``offset_ms``, or ``fixed_ms`` when set."""

    offset_ms: int = 0
    fixed_ms: int | None = None

    def now_ms(self) -> int:
        if self.fixed_ms is not None:
            return self.fixed_ms
        return int(time.time() * 1000) + self.offset_ms


@attrs.define
class Trigger:
    price: float
    is_market: bool
    kind: str  # "sl" or "tp"


@attrs.define
class Order:
    oid: int
    user: str
    coin: str
    is_buy: bool
    size: float
    limit_price: float
    reduce_only: bool
    tif: str | None
    trigger: Trigger | None
    cloid: str | None
    timestamp: int
    original_size: float = 0.0
    status: str = "open"
    status_time: int = 0

    def wire(self) -> dict[str, Any]:
        """The order as ``frontendOpenOrders`` and ``orderStatus`` show it."""
        t = self.trigger
        kind = (
            "Limit"
            if t is None
            else ("Stop" if t.kind == "sl" else "Take Profit")
            + (" Market" if t.is_market else " Limit")
        )
        above = t is not None and (t.kind == "sl") == self.is_buy
        return {
            "coin": self.coin,
            "side": "B" if self.is_buy else "A",
            "limitPx": number_text(self.limit_price),
            "sz": number_text(self.size),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "origSz": number_text(self.original_size),
            "triggerCondition": "N/A"
            if t is None
            else f"Price {'above' if above else 'below'} {number_text(t.price)}",
            "isTrigger": t is not None,
            "triggerPx": number_text(t.price if t else 0.0),
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": kind,
            "tif": self.tif,
            "cloid": self.cloid,
        }

    def fires_at(self, price: float) -> bool:
        """Whether the order trades at ``price`` (a trigger: whether it is triggered)."""
        level = self.trigger.price if self.trigger else self.limit_price
        if self.trigger is None:
            rising = not self.is_buy  # a sell trades at its limit or above
        else:
            rising = (self.trigger.kind == "sl") == self.is_buy
        return price >= level if rising else price <= level


@attrs.define
class Holding:
    size: float  # signed
    entry_price: float


@attrs.define
class Account:
    cash: float = 0.0
    positions: dict[str, Holding] = attrs.field(factory=dict)
    leverage: dict[str, tuple[int, bool]] = attrs.field(factory=dict)
    fills: list[dict[str, Any]] = attrs.field(factory=list)
    ledger: list[dict[str, Any]] = attrs.field(factory=list)
    cancel_at: int | None = None


class Venue:
    """Accounts by lower-case address, orders by oid, the prices; safe across threads."""

    def __init__(self, main: str, fee: float = 0.0, clock: Clock | None = None) -> None:
        self.main = main.lower()
        self.fee = fee
        self.clock = clock or Clock()
        self.prices: dict[str, float] = {}
        self.accounts: dict[str, Account] = defaultdict(Account)
        self.orders: dict[int, Order] = {}
        self.partial: list[float] = []  # fractions the next IOC orders fill
        #: Refuse an order whose position would need more initial margin than the account holds.
        self.check_margin = True
        self._ids = itertools.count(1000)
        self._lock = threading.RLock()

    def account(self, user: str) -> Account:
        return self.accounts[user.lower()]

    # --- prices -------------------------------------------------------------------------------

    def set_price(self, coin: str, price: float) -> None:
        """Jump to ``price``: orders it crosses fill at it."""
        with self._lock:
            self._move(coin, price, continuous=False)

    def walk(self, coin: str, prices: list[float]) -> None:
        """Go through ``prices`` in turn: orders crossed on the way fill at their own level."""
        with self._lock:
            for price in prices:
                self._move(coin, price, continuous=True)

    def _move(self, coin: str, price: float, continuous: bool) -> None:
        old = self.prices.get(coin, price)
        self.prices[coin] = price
        waiting = [o for o in self.orders.values() if o.coin == coin and o.status == "open"]
        waiting.sort(key=lambda o: abs((o.trigger.price if o.trigger else o.limit_price) - old))
        for order in waiting:
            if order.status != "open" or not order.fires_at(price):
                continue
            level = order.trigger.price if order.trigger else order.limit_price
            at = level if continuous and not order.fires_at(old) else price
            self._execute(order, order.size, at)

    # --- orders -------------------------------------------------------------------------------

    def place(self, user: str, wire: dict[str, Any]) -> dict[str, Any]:
        """One order of an ``order`` action; its entry of ``statuses``."""
        with self._lock:
            try:
                return self._place(user, wire)
            except VenueError as error:
                return {"error": str(error)}

    def _place(self, user: str, wire: dict[str, Any]) -> dict[str, Any]:
        asset = int(wire["a"])
        if asset not in ASSETS:
            raise VenueError(f"Invalid asset {asset}")
        coin, decimals = ASSETS[asset]
        size, price = float(wire["s"]), float(wire["p"])
        if size <= 0 or round(size, decimals) != size:
            raise VenueError(f"Order has invalid size. asset={asset}")
        cloid = wire.get("c")
        if cloid is not None and self._by_cloid(user, cloid) is not None:
            raise VenueError(f"Duplicate cloid. asset={asset}")
        kind = wire["t"]
        trigger = None
        if "trigger" in kind:
            t = kind["trigger"]
            trigger = Trigger(float(t["triggerPx"]), bool(t["isMarket"]), t["tpsl"])
        now = self.clock.now_ms()
        order = Order(
            next(self._ids),
            user.lower(),
            coin,
            bool(wire["b"]),
            size,
            price,
            bool(wire["r"]),
            None if trigger else kind["limit"]["tif"],
            trigger,
            cloid,
            now,
            original_size=size,
            status_time=now,
        )
        held = self._held(order)
        if order.reduce_only and held == 0:
            raise VenueError(f"Reduce only order would increase position. asset={asset}")
        mark = self.prices.get(coin)
        if trigger is not None or (order.tif == "Gtc" and not (mark and order.fires_at(mark))):
            self.orders[order.oid] = order
            return {"resting": {"oid": order.oid}}
        if mark is None or not order.fires_at(mark):
            raise VenueError(
                f"Order could not immediately match against any resting orders. asset={asset}"
            )
        wanted = size * (self.partial.pop(0) if self.partial else 1.0)
        wanted = round(wanted, decimals)
        self._check_margin(order, wanted, mark)
        self.orders[order.oid] = order
        filled = self._execute(order, wanted, mark)
        if order.status == "open":  # the IOC's rest is cancelled
            order.status = "canceled"
        return {
            "filled": {"totalSz": number_text(filled), "avgPx": number_text(mark), "oid": order.oid}
        }

    def _held(self, order: Order) -> float:
        """How much of the order may trade: a reduce-only one at most the opposite position."""
        holding = self.account(order.user).positions.get(order.coin)
        if not order.reduce_only:
            return order.size
        if holding is None or (holding.size > 0) == order.is_buy:
            return 0.0
        return min(order.size, abs(holding.size))

    def _check_margin(self, order: Order, size: float, price: float) -> None:
        if order.reduce_only or not self.check_margin:
            return
        account = self.account(order.user)
        holding = account.positions.get(order.coin)
        after = (holding.size if holding else 0.0) + (size if order.is_buy else -size)
        lev = account.leverage.get(order.coin, (DEFAULT_LEVERAGE, True))[0]
        others = sum(
            abs(h.size)
            * self.prices.get(c, h.entry_price)
            / account.leverage.get(c, (DEFAULT_LEVERAGE, True))[0]
            for c, h in account.positions.items()
            if c != order.coin
        )
        if others + abs(after) * price / lev > self.value(order.user) + 1e-9:
            asset = next(a for a, (c, _) in ASSETS.items() if c == order.coin)
            raise VenueError(f"Insufficient margin to place order. asset={asset}")

    def _execute(self, order: Order, size: float, price: float) -> float:
        """Trade ``size`` of the order at ``price`` (a reduce-only one: what is left to reduce)."""
        size = min(size, self._held(order))
        now = self.clock.now_ms()
        order.status_time = now
        if size <= 0:
            order.status = "reduceOnlyCanceled"
            return 0.0
        account = self.account(order.user)
        sign = 1 if order.is_buy else -1
        holding = account.positions.get(order.coin)
        start = holding.size if holding else 0.0
        closing = min(size, abs(start)) if start * sign < 0 else 0.0
        pnl = closing * (price - holding.entry_price) * (1 if start > 0 else -1) if holding else 0.0
        fee = size * price * self.fee
        account.cash += pnl - fee
        after = start + sign * size
        if abs(after) < 1e-12:
            account.positions.pop(order.coin, None)
        elif start * after <= 0:  # opened or flipped
            account.positions[order.coin] = Holding(after, price)
        elif abs(after) > abs(start):
            entry = (abs(start) * holding.entry_price + size * price) / abs(after)
            account.positions[order.coin] = Holding(after, entry)
        else:
            holding.size = after
        direction = "Long" if (start > 0 if closing else sign > 0) else "Short"
        order.size = round(order.size - size, 12)
        if order.size <= 0:
            order.status = "filled"
        account.fills.append(
            {
                "coin": order.coin,
                "px": number_text(price),
                "sz": number_text(size),
                "side": "B" if order.is_buy else "A",
                "time": now,
                "startPosition": number_text(start),
                "dir": f"{'Close' if closing else 'Open'} {direction}",
                "closedPnl": number_text(pnl),
                "hash": f"0x{order.oid:064x}",
                "oid": order.oid,
                "crossed": True,
                "fee": number_text(fee),
                "tid": next(self._ids),
                "feeToken": "USDC",
                **({"cloid": order.cloid} if order.cloid else {}),
            }
        )
        return size

    def cancel(self, user: str, oid: int | None = None, cloid: str | None = None) -> Any:
        """Cancel one resting order by oid or cloid; its entry of ``statuses``."""
        with self._lock:
            order = self.orders.get(oid) if oid is not None else self._by_cloid(user, cloid)
            if order is None or order.user != user.lower() or order.status != "open":
                return {"error": "Order was never placed, already canceled, or filled."}
            order.status, order.status_time = "canceled", self.clock.now_ms()
            return "success"

    def _by_cloid(self, user: str, cloid: str | None) -> Order | None:
        return next(
            (o for o in self.orders.values() if o.user == user.lower() and o.cloid == cloid),
            None,
        )

    def schedule_cancel(self, user: str, at: int | None) -> None:
        with self._lock:
            self.account(user).cancel_at = at

    def honour_schedules(self) -> None:
        """Cancel the open orders of every account whose scheduled cancel time has come."""
        with self._lock:
            now = self.clock.now_ms()
            for user, account in self.accounts.items():
                if account.cancel_at is not None and account.cancel_at <= now:
                    account.cancel_at = None
                    for order in self.open_orders(user):
                        order.status, order.status_time = "scheduledCancel", now

    # --- accounts -----------------------------------------------------------------------------

    def transfer(self, sub: str, to_sub: bool, usd: int) -> None:
        """Move ``usd`` micro-USDC between the main account and ``sub``."""
        with self._lock:
            amount = usd / 1_000_000
            giver, taker = (self.main, sub.lower()) if to_sub else (sub.lower(), self.main)
            if self.withdrawable(giver) < amount:
                raise VenueError("Insufficient balance for token transfer")
            self.account(giver).cash -= amount
            self.account(taker).cash += amount
            entry = {
                "time": self.clock.now_ms(),
                "hash": f"0x{next(self._ids):064x}",
                "delta": {
                    "type": "subAccountTransfer",
                    "usdc": number_text(amount),
                    "user": giver,
                    "destination": taker,
                },
            }
            self.account(giver).ledger.append(entry)
            self.account(taker).ledger.append(entry)

    def value(self, user: str) -> float:
        """Cash plus the positions' profit at the current prices."""
        account = self.account(user)
        return account.cash + sum(
            h.size * (self.prices.get(c, h.entry_price) - h.entry_price)
            for c, h in account.positions.items()
        )

    def margin(self, user: str) -> float:
        account = self.account(user)
        return sum(
            abs(h.size)
            * self.prices.get(c, h.entry_price)
            / account.leverage.get(c, (DEFAULT_LEVERAGE, True))[0]
            for c, h in account.positions.items()
        )

    def withdrawable(self, user: str) -> float:
        return max(0.0, self.value(user) - self.margin(user))

    def open_orders(self, user: str) -> list[Order]:
        return [o for o in self.orders.values() if o.user == user.lower() and o.status == "open"]

    def order(self, user: str, key: int | str) -> Order | None:
        """An order of ``user`` by oid (an int) or cloid (a string)."""
        if isinstance(key, str):
            return self._by_cloid(user, key)
        order = self.orders.get(key)
        return order if order is not None and order.user == user.lower() else None


def number_text(value: float) -> str:
    """A number as Hyperliquid writes it: a decimal string without exponent."""
    text = f"{value:.10f}".rstrip("0")
    return text + "0" if text.endswith(".") else text
