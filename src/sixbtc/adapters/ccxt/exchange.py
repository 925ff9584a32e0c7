"""``CcxtExchange``: the :class:`~sixbtc.application.ports.Exchange` port on Hyperliquid
perpetuals through ccxt, one subaccount per strategy.

Subaccount ``i`` (1..N) is the ``i``-th configured subaccount address; the main account is the
wallet's. Actions go to a subaccount with ccxt's ``vaultAddress``, reads name it as ``user``.
Coins are named by their base (``BTC``), traded as ``BTC/USDC:USDC``.

Orders are idempotent by client id (Hyperliquid's ``cloid``): an id the venue knows is never
sent again, and a placement whose answer was lost is looked up by its id, never resent blindly
(when the lookup cannot answer either: ExchangeUnavailable, and the executor asks
:meth:`CcxtExchange.order_known` next time). A market order is an IOC limit ``slippage`` away
from the last close :meth:`CcxtExchange.observe` saw (else the venue's mid price). An entry first
sets the coin's leverage, then, once filled, rests its stop and target as reduce-only
stop-market triggers at the levels of :meth:`OpenPosition.open` for the filled size and average
price, with client ids derived from the entry's (``STOP_LOSS``, ``TAKE_PROFIT``). Protective
orders left on a coin whose position is gone are cancelled when the open orders are read.

Transfers carry no client id on Hyperliquid: each is journalled before it is sent
(:mod:`sixbtc.adapters.ccxt.journal`); one whose answer was lost is looked up in the
subaccount's ledger before it is sent again. Rate limits are retried with a backoff; then every
ccxt error leaves as ExchangeUnavailable (unreachable, rate-limited), OrderRejected (an order
refused for what it is) or ExchangeError, naming the subaccount, the call and the cause.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import ccxt

from sixbtc.adapters.ccxt.journal import JournalEntry, TransferJournal
from sixbtc.adapters.ccxt.keys import ExchangeKeys
from sixbtc.application.errors import ExchangeError, ExchangeUnavailable, OrderRejected
from sixbtc.application.ports import Clock
from sixbtc.domain.candles import Candles, from_ms, to_ms
from sixbtc.domain.orders import (
    Fill,
    OrderRequest,
    Position,
    Protection,
    Side,
    client_order_id,
    exit_reason,
)
from sixbtc.domain.position import Direction, ExitReason, OpenPosition

log = logging.getLogger(__name__)
T = TypeVar("T")
MAIN = 0
#: ``userFillsByTime`` answers at most this many fills; a full page is followed by the next.
FILLS_PAGE = 2000
#: How far before a journalled transfer its ledger entry is looked for (clock differences).
LEDGER_MARGIN_MS = 60_000
_UNREACHABLE = (ccxt.NetworkError,)  # timeouts, disconnects, rate limits, outages
_RATE_LIMITED = (ccxt.RateLimitExceeded, ccxt.DDoSProtection)
_REFUSED = (ccxt.InsufficientFunds, ccxt.InvalidOrder)


def hyperliquid_client(
    keys: ExchangeKeys,
    api_url: str = "",
    testnet: bool = False,
    timeout_seconds: float = 10.0,
    slippage: float = 0.05,
    rate_limit: bool = True,
) -> ccxt.hyperliquid:
    """A ccxt Hyperliquid client signing with ``keys``: perpetual markets only, no builder fee
    and no referrer set on the account; ``api_url`` (empty: ccxt's) serves both endpoints."""
    client = ccxt.hyperliquid(
        {
            "walletAddress": keys.wallet_address,
            "privateKey": keys.private_key.reveal(),
            "timeout": int(timeout_seconds * 1000),
            "enableRateLimit": rate_limit,
            "options": {
                "defaultSlippage": slippage,
                "builderFee": False,
                "refSet": True,
                "fetchMarkets": {"types": ["swap"]},
            },
        }
    )
    if testnet:
        client.set_sandbox_mode(True)
    if api_url:
        client.urls["api"] = {"public": api_url, "private": api_url}
    return client


class CcxtExchange:
    """Hyperliquid subaccounts through a ccxt client (see the module's docstring)."""

    def __init__(
        self,
        client: ccxt.hyperliquid,
        subaccounts: Sequence[str],
        journal: TransferJournal,
        clock: Clock,
        retries: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.subaccounts = tuple(subaccounts)
        self.journal = journal
        self.clock = clock
        self.retries = retries
        self.backoff_seconds = backoff_seconds
        self._sleep = sleep
        self._closes: dict[str, float] = {}
        self._leverage: set[tuple[int, str, int]] = set()
        self._connection = 0
        self._unreachable = False

    # --- accounts -----------------------------------------------------------------------------

    def _address(self, subaccount: int) -> str:
        if subaccount == MAIN:
            return self.client.walletAddress
        if not 1 <= subaccount <= len(self.subaccounts):
            raise ValueError(
                f"subaccount {subaccount}: expected 1..{len(self.subaccounts)} (the configured "
                "exchange.subaccounts)"
            )
        return self.subaccounts[subaccount - 1]

    def _state(self, subaccount: int) -> dict[str, Any]:
        """The account's ``clearinghouseState``: value, withdrawable cash, positions."""
        request = {"type": "clearinghouseState", "user": self._address(subaccount)}
        return self._call(subaccount, "account state", self.client.publicPostInfo, request)

    def main_balance(self) -> float:
        return float(self._state(MAIN)["withdrawable"])

    def equity(self, subaccount: int) -> float:
        return float(self._state(subaccount)["marginSummary"]["accountValue"])

    def transfer(self, subaccount: int, amount: float, transfer_id: str) -> None:
        address = self._address(subaccount)
        if subaccount == MAIN:
            raise ValueError("subaccount 0 is the main account; expected a subaccount >= 1")
        entry = self.journal.find(transfer_id)
        if entry is not None and (entry.done or self._landed(entry)):
            if not entry.done:
                self.journal.done(transfer_id)
            return
        if entry is None:
            self.journal.begin(JournalEntry(transfer_id, subaccount, amount, self.clock.now()))
        source, target = ("main", address) if amount > 0 else (address, "main")
        self._call(
            subaccount,
            f"transfer {amount:+.2f} USDC ({transfer_id})",
            self.client.transfer,
            "USDC",
            _micro(abs(amount)),
            source,
            target,
            {"method": "subAccountTransfer"},
            refused=ExchangeError,
        )
        self.journal.done(transfer_id)

    def _landed(self, entry: JournalEntry) -> bool:
        """Whether the subaccount's ledger shows the journalled transfer (its answer was lost)."""
        address = self._address(entry.subaccount).lower()
        since = to_ms(entry.created_at) - LEDGER_MARGIN_MS
        ledger = self._call(
            entry.subaccount,
            f"ledger since {since}",
            self.client.fetch_ledger,
            None,
            since,
            None,
            {"user": address},
        )
        wanted = _micro(abs(entry.amount))
        for item in ledger:
            delta = item["info"].get("delta", {})
            towards = str(delta.get("destination" if entry.amount > 0 else "user", "")).lower()
            if (
                delta.get("type") == "subAccountTransfer"
                and towards == address
                and abs(float(delta.get("usdc", 0)) - wanted) < 1e-6
            ):
                return True
        return False

    # --- positions and orders -----------------------------------------------------------------

    def positions(self, subaccount: int) -> list[Position]:
        held = self._held(subaccount)
        levels: dict[str, dict[str, float]] = defaultdict(dict)
        for order in self._open(subaccount):
            for field in ("stopLossPrice", "takeProfitPrice"):
                if order.get(field) is not None:
                    levels[_coin(order["symbol"])][field] = float(order[field])
        return [
            Position(
                coin,
                size,
                entry,
                levels[coin].get("stopLossPrice"),
                levels[coin].get("takeProfitPrice"),
            )
            for coin, (size, entry) in held.items()
        ]

    def _held(self, subaccount: int) -> dict[str, tuple[float, float]]:
        """The positions by coin: signed size and entry price."""
        return {
            p["position"]["coin"]: (float(p["position"]["szi"]), float(p["position"]["entryPx"]))
            for p in self._state(subaccount)["assetPositions"]
            if float(p["position"]["szi"]) != 0
        }

    def _open(self, subaccount: int) -> list[dict[str, Any]]:
        params = {"user": self._address(subaccount)}
        return self._call(
            subaccount, "open orders", self.client.fetch_open_orders, None, None, None, params
        )

    def open_orders(self, subaccount: int) -> list[OrderRequest]:
        held = self._held(subaccount)
        found = []
        for order in self._open(subaccount):
            coin = _coin(order["symbol"])
            if order.get("reduceOnly") and coin not in held:  # protection outliving its position
                self._cancel(subaccount, order)
                continue
            found.append(
                OrderRequest(
                    order.get("clientOrderId") or "",
                    subaccount,
                    coin,
                    order["side"],
                    float(order["remaining"]),
                    reduce_only=bool(order.get("reduceOnly")),
                )
            )
        return found

    def _cancel(self, subaccount: int, order: dict[str, Any]) -> None:
        """Cancel one open order (by oid); nothing when it is gone already."""
        params = {"vaultAddress": self._address(subaccount)}
        try:
            self._call(
                subaccount,
                f"cancel order {order['id']}",
                self.client.cancel_order,
                order["id"],
                order["symbol"],
                params,
            )
        except OrderRejected:  # filled or cancelled meanwhile
            log.info("subaccount %d: order %s was gone when cancelled", subaccount, order["id"])

    def cancel_order(self, subaccount: int, client_order_id: str) -> None:
        for order in self._open(subaccount):
            if order.get("clientOrderId") == client_order_id:
                self._cancel(subaccount, order)

    def order_known(self, subaccount: int, client_order_id: str) -> bool:
        return self._lookup(subaccount, client_order_id) is not None

    def _lookup(self, subaccount: int, cloid: str) -> dict[str, Any] | None:
        """The venue's order of this client id (any status), or None when it has none."""

        def status() -> dict[str, Any] | None:
            params = {"clientOrderId": cloid, "user": self._address(subaccount)}
            try:
                return self.client.fetch_order(None, None, params)
            except ccxt.OrderNotFound:
                return None

        return self._call(subaccount, f"order status of {cloid}", status)

    def place_order(self, order: OrderRequest, protection: Protection | None = None) -> None:
        if not order.reduce_only and protection is None:
            raise ValueError(f"order {order.client_order_id}: opens a position; needs protection")
        known = self._lookup(order.subaccount, order.client_order_id)
        if known is None:
            amount = order.amount
            if order.reduce_only:
                size, _ = self._held(order.subaccount).get(order.symbol, (0.0, 0.0))
                if size * order.side.sign >= 0:
                    return  # the position is gone (or this would not reduce it)
                amount = min(amount, abs(size))
            else:
                assert protection is not None
                self._check_levels(order, protection, self._price(order))
                self._set_leverage(order, protection.parameters.leverage)
            try:
                placed = self._market(order, amount, order.client_order_id)
            except ExchangeUnavailable:
                known = self._lookup(order.subaccount, order.client_order_id)
                if known is None:
                    raise
                log.warning(
                    "subaccount %d: order %s reached the venue though its answer was lost",
                    order.subaccount,
                    order.client_order_id,
                )
            else:
                filled = placed["info"].get("filled", {})
                if not order.reduce_only and float(filled.get("totalSz", 0)) > 0:
                    assert protection is not None
                    size, price = float(filled["totalSz"]), float(filled["avgPx"])
                    self._protect(order, protection, size, price, fresh=True)
                return
        if not order.reduce_only:
            assert protection is not None
            size, price = self._filled(order.subaccount, known)
            if size > 0:
                self._protect(order, protection, size, price, fresh=False)

    def _price(self, order: OrderRequest) -> float:
        """The reference of a market order: the last close observed, else the venue's mid."""
        if order.symbol in self._closes:
            return self._closes[order.symbol]
        mids = self._call(
            order.subaccount, "mid prices", self.client.publicPostInfo, {"type": "allMids"}
        )
        if order.symbol not in mids:
            raise OrderRejected(f"subaccount {order.subaccount}: no price for {order.symbol}")
        return float(mids[order.symbol])

    @staticmethod
    def _check_levels(order: OrderRequest, protection: Protection, price: float) -> None:
        """Refuse an entry whose stop cannot be placed (the backtest would not take it)."""
        direction = Direction(order.side.sign)
        if OpenPosition.open(direction, price, 0, protection.parameters, protection.atr) is None:
            raise OrderRejected(
                f"subaccount {order.subaccount}: order {order.client_order_id} on {order.symbol}: "
                f"no stop can be placed (ATR {protection.atr}) at {price:g}"
            )

    def _set_leverage(self, order: OrderRequest, leverage: float) -> None:
        """The coin's cross leverage on the subaccount, once per value: one above the strategy's,
        rounded up (the venue takes whole numbers). The order's size sets the exposure; the
        venue's leverage only sets the initial margin it asks, and the step of headroom leaves
        room for fees and rounding when each coin's entry uses its whole share of the equity
        (cross margin: liquidation follows the account's value, not this setting)."""
        whole = math.ceil(leverage) + 1
        key = (order.subaccount, order.symbol, whole)
        if key in self._leverage:
            return
        params = {"vaultAddress": self._address(order.subaccount), "marginMode": "cross"}
        self._call(
            order.subaccount,
            f"set leverage {whole} on {order.symbol}",
            self.client.set_leverage,
            whole,
            _symbol(order.symbol),
            params,
        )
        self._leverage.add(key)

    def _market(
        self, order: OrderRequest, amount: float, cloid: str, **trigger: float
    ) -> dict[str, Any]:
        """Send a market order (or, with ``stopLossPrice``/``takeProfitPrice``, a reduce-only
        stop-market trigger) of ``amount`` with client id ``cloid``."""
        price = next(iter(trigger.values())) if trigger else self._price(order)
        params = {
            "clientOrderId": cloid,
            "vaultAddress": self._address(order.subaccount),
            "reduceOnly": order.reduce_only or bool(trigger),
            **trigger,
        }
        side = order.side if not trigger else Side.closing(Direction(order.side.sign))
        return self._call(
            order.subaccount,
            f"place {side} {amount:g} {order.symbol} ({cloid})",
            self.client.create_order,
            _symbol(order.symbol),
            "market",
            side.value,
            amount,
            price,
            params,
            failed=OrderRejected,  # an error status in the order's answer: refused
        )

    def _filled(self, subaccount: int, known: dict[str, Any]) -> tuple[float, float]:
        """Size and average price the venue filled of an order it knows."""
        trades = self._trades(subaccount, int(known["timestamp"] or 0))
        mine = [t for t in trades if t["order"] == known["id"]]
        size = sum(t["amount"] for t in mine)
        price = sum(t["amount"] * t["price"] for t in mine) / size if size else 0.0
        return size, price

    def _protect(
        self, entry: OrderRequest, protection: Protection, size: float, price: float, fresh: bool
    ) -> None:
        """Rest the entry's stop and target for ``size`` filled at ``price``; unless ``fresh``
        (the entry was filled just now), each is first looked up by its client id."""
        direction = Direction(entry.side.sign)
        p, atr = protection.parameters, protection.atr
        levels = OpenPosition.open(direction, price, 0, p, atr)
        if levels is None:  # the fill moved the price past what an ATR stop allows
            levels = OpenPosition.open(direction, self._price(entry), 0, p, atr)
        assert levels is not None
        for reason, field, level in (
            (ExitReason.STOP_LOSS, "stopLossPrice", levels.stop),
            (ExitReason.TAKE_PROFIT, "takeProfitPrice", levels.target),
        ):
            cloid = client_order_id(entry.client_order_id, reason=reason)
            if fresh or self._lookup(entry.subaccount, cloid) is None:
                self._market(entry, size, cloid, **{field: level})

    def close_all(self, subaccount: int, request_id: str) -> None:
        for order in self._open(subaccount):
            self._cancel(subaccount, order)
        for coin, (size, _) in self._held(subaccount).items():
            cloid = client_order_id(request_id, coin, reason=ExitReason.END)
            side = Side.SELL if size > 0 else Side.BUY
            request = OrderRequest(cloid, subaccount, coin, side, abs(size), reduce_only=True)
            if self._lookup(subaccount, cloid) is None:
                self._market(request, abs(size), cloid)

    def keep_alive(self, subaccount: int, seconds: int) -> None:
        address = self._address(subaccount)
        if seconds:
            self._call(
                subaccount,
                f"dead-man switch in {seconds} s",
                self.client.cancel_all_orders_after,
                seconds * 1000,
                {"vaultAddress": address},
            )
        else:
            self._call(subaccount, "dead-man switch off", self._disarm, address)

    def _disarm(self, address: str) -> None:
        """Remove the scheduled cancel: a ``scheduleCancel`` without a time (ccxt sends one
        with the current time for 0, which the venue refuses as too early)."""
        client = self.client
        nonce = client.incrementing_nonce()
        action = {"type": "scheduleCancel"}
        vault = client.format_vault_address(address)
        client.privatePostExchange(
            {
                "action": action,
                "nonce": nonce,
                "signature": client.sign_l1_action(action, nonce, vault),
                "vaultAddress": vault,
            }
        )

    # --- fills and candles --------------------------------------------------------------------

    def _trades(self, subaccount: int, since: int) -> list[dict[str, Any]]:
        """The subaccount's fills from ``since`` (ms) on, every page."""
        params = {"user": self._address(subaccount)}
        found: list[dict[str, Any]] = []
        while True:
            page = self._call(
                subaccount,
                f"fills since {since}",
                self.client.fetch_my_trades,
                None,
                since,
                None,
                params,
            )
            found += page
            if len(page) < FILLS_PAGE:
                return found
            since = int(page[-1]["timestamp"])  # the next page repeats its last millisecond

    def fills(self, subaccount: int, after: int = 0) -> list[Fill]:
        trades = {t["id"]: t for t in self._trades(subaccount, after // 1000)}.values()
        by_time: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for trade in trades:
            by_time[int(trade["timestamp"])].append(trade)
        found = []
        for at, group in sorted(by_time.items()):
            for rank, trade in enumerate(sorted(group, key=lambda t: int(t["id"]))):
                sequence = at * 1000 + rank
                if sequence > after:
                    found.append(self._fill(subaccount, sequence, trade))
        return found

    @staticmethod
    def _fill(subaccount: int, sequence: int, trade: dict[str, Any]) -> Fill:
        cloid = trade["info"].get("cloid") or ""
        try:
            reason = exit_reason(cloid)
        except ValueError:  # not one of ours: the executor flags it
            cloid, reason = "", None
        return Fill(
            subaccount,
            sequence,
            cloid,
            _coin(trade["symbol"]),
            trade["side"],
            float(trade["amount"]),
            float(trade["price"]),
            float(trade["fee"]["cost"] or 0.0),
            from_ms(int(trade["timestamp"])),
            reason,
        )

    def observe(self, subaccount: int, windows: Sequence[Candles]) -> None:
        """Only the last close of each coin is kept: the reference of its market orders."""
        for window in windows:
            if len(window):
                self._closes[window.symbol] = float(window.close[-1])

    @property
    def connection(self) -> int:
        return self._connection

    # --- errors -------------------------------------------------------------------------------

    def _call(
        self,
        subaccount: int,
        what: str,
        function: Callable[..., T],
        *args: Any,
        refused: type[ExchangeError] = OrderRejected,
        failed: type[ExchangeError] = ExchangeError,
    ) -> T:
        """``function(*args)`` with rate limits retried; ccxt errors mapped: a refusal for the
        request's content (funds, size, price) to ``refused``, another answer of the venue to
        ``failed``."""
        where = (
            f"hyperliquid {'main account' if subaccount == MAIN else f'subaccount {subaccount}'}"
        )
        attempt = 0
        while True:
            try:
                result = function(*args)
            except _RATE_LIMITED as error:
                if attempt < self.retries:
                    delay = self.backoff_seconds * 2**attempt
                    log.warning("%s %s: rate-limited; retrying in %.1f s", where, what, delay)
                    self._sleep(delay)
                    attempt += 1
                    continue
                raise self._unavailable(f"{where} {what}", error) from error
            except _UNREACHABLE as error:
                raise self._unavailable(f"{where} {what}", error) from error
            except _REFUSED as error:
                raise refused(f"{where} {what}: {type(error).__name__}: {error}") from error
            except (ccxt.AuthenticationError, ccxt.PermissionDenied) as error:
                raise ExchangeError(f"{where} {what}: {type(error).__name__}: {error}") from error
            except ccxt.BaseError as error:
                raise failed(f"{where} {what}: {type(error).__name__}: {error}") from error
            if self._unreachable:
                self._unreachable = False
                self._connection += 1
                log.warning("%s: the venue answers again (connection %d)", where, self._connection)
            return result

    def _unavailable(self, what: str, error: Exception) -> ExchangeUnavailable:
        self._unreachable = True
        return ExchangeUnavailable(f"{what}: {type(error).__name__}: {error}")


def _symbol(coin: str) -> str:
    """The ccxt symbol of a coin's perpetual."""
    return coin if "/" in coin else f"{coin}/USDC:USDC"


def _coin(symbol: str) -> str:
    return symbol.split("/")[0]


def _micro(amount: float) -> float:
    """``amount`` rounded down to the venue's unit, a millionth of a USDC."""
    return math.floor(round(amount * 1_000_000, 3)) / 1_000_000
