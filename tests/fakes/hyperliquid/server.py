"""The fake Hyperliquid's HTTP side: POST ``/info`` and ``/exchange`` as ccxt's ``hyperliquid``
class calls them, on 127.0.0.1 in a background thread, with faults injected on demand.

Signatures are not verified, but an ``/exchange`` body must carry an action, a nonce and a
signature with ``r``, ``s`` and ``v``. An action goes to the account its ``vaultAddress`` names
(a subaccount; with or without ``0x``), else to the main wallet. Every request body is kept in
:attr:`FakeHyperliquid.requests` for tests to look at.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs

from tests.fakes.hyperliquid.venue import (
    ASSETS,
    DEFAULT_LEVERAGE,
    Clock,
    Venue,
    VenueError,
    number_text,
)

#: ``userFillsByTime`` answers at most this many fills, as the real API does.
FILLS_PAGE = 2000


@attrs.define
class _Fault:
    kind: str
    count: int
    on: str
    argument: Any = None
    skip: int = 0


class Faults:
    """Failures the next matching requests meet; ``on`` names an action type (``order``,
    ``cancel``...), an info type (``orderStatus``...), or ``*`` for any request."""

    def __init__(self) -> None:
        self._pending: list[_Fault] = []
        self._lock = threading.Lock()

    def timeout_after_accept(self, n: int = 1, on: str = "order", delay: float = 1.0) -> None:
        """The next ``n`` such requests take effect, then the answer comes ``delay`` s late."""
        self._add(_Fault("late", n, on, delay))

    def rate_limit(self, n: int = 1, on: str = "*") -> None:
        """The next ``n`` such requests are answered HTTP 429 and do nothing."""
        self._add(_Fault("429", n, on))

    def drop(self, n: int = 1, on: str = "*", skip: int = 0) -> None:
        """The next ``n`` such requests (after ``skip`` of them) lose their connection before
        they take effect."""
        self._add(_Fault("drop", n, on, skip=skip))

    def reject(self, n: int = 1, message: str = "Insufficient margin to place order. asset=0"):
        """The next ``n`` orders are refused with ``message`` in their status."""
        self._add(_Fault("reject", n, "order", message))

    def _add(self, fault: _Fault) -> None:
        with self._lock:
            self._pending.append(fault)

    def take(self, request: str, kinds: tuple[str, ...]) -> _Fault | None:
        """The first pending fault of one of ``kinds`` for a request of type ``request``, used
        up by one."""
        with self._lock:
            for fault in self._pending:
                if fault.kind in kinds and fault.on in ("*", request):
                    if fault.skip:
                        fault.skip -= 1
                        return None
                    fault.count -= 1
                    if fault.count == 0:
                        self._pending.remove(fault)
                    return fault
        return None


class FakeHyperliquid:
    """A Hyperliquid venue for one main wallet and its subaccounts, served over HTTP."""

    def __init__(self, main: str, fee: float = 0.0, port: int = 0) -> None:
        self.venue = Venue(main, fee, Clock())
        self.faults = Faults()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._port = port
        self._server: ThreadingHTTPServer | None = None
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    @property
    def clock(self) -> Clock:
        return self.venue.clock

    # --- what tests drive ---------------------------------------------------------------------

    def set_price(self, coin: str, price: float) -> None:
        self.venue.set_price(coin, price)

    def walk(self, coin: str, prices: list[float]) -> None:
        self.venue.walk(coin, prices)

    def advance(self, seconds: float) -> None:
        """Move the venue's clock on; scheduled cancels due by then happen."""
        self.clock.offset_ms += int(seconds * 1000)
        if self.clock.fixed_ms is not None:
            self.clock.fixed_ms += int(seconds * 1000)
        self.venue.honour_schedules()

    def partial_fill(self, fraction: float, n: int = 1) -> None:
        """The next ``n`` IOC orders fill only ``fraction`` of their size."""
        self.venue.partial.extend([fraction] * n)

    def deposit(self, user: str, amount: float) -> None:
        """Cash arriving in ``user``'s account from outside (a bridge deposit)."""
        self.venue.account(user).cash += amount

    def exchange_actions(self, kind: str) -> list[dict[str, Any]]:
        """The bodies of the ``/exchange`` requests of action type ``kind``, in order."""
        return [b for p, b in self.requests if p == "/exchange" and b["action"]["type"] == kind]

    # --- running ------------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self._port), _handler(self))
        self._server.daemon_threads = True
        self._port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        """Stop answering (connections are refused until :meth:`start`)."""
        if self._server is not None:
            self._stopping.set()
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            for connection in list(self._connections):  # kept-alive ones too
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def restart(self, keep_state: bool = True) -> None:
        """Stop and start again on the same port, with the state kept or lost."""
        self.stop()
        if not keep_state:
            self.venue = Venue(self.venue.main, self.venue.fee, self.venue.clock)
        self.start()

    def __enter__(self) -> FakeHyperliquid:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the protocol -------------------------------------------------------------------------

    def answer(self, path: str, body: dict[str, Any]) -> Any:
        """The JSON answer to one request (VenueError: an ``err`` status)."""
        self.venue.honour_schedules()
        if path == "/info":
            return self._info(body)
        if path == "/exchange":
            return self._exchange(body)
        raise VenueError(f"unknown path {path}")

    def _info(self, body: dict[str, Any]) -> Any:
        v, kind, user = self.venue, body["type"], body.get("user", "")
        if kind == "clearinghouseState":
            return self._clearinghouse(user)
        if kind in ("frontendOpenOrders", "openOrders"):
            return [o.wire() for o in v.open_orders(user)]
        if kind == "orderStatus":
            order = v.order(user, body["oid"])
            if order is None:
                return {"status": "unknownOid"}
            wire = {"order": order.wire(), "status": order.status}
            return {"status": "order", "order": {**wire, "statusTimestamp": order.status_time}}
        if kind in ("userFills", "userFillsByTime"):
            start, end = body.get("startTime", 0), body.get("endTime", 2**63)
            fills = [f for f in v.account(user).fills if start <= f["time"] <= end]
            return fills[:FILLS_PAGE] if kind == "userFillsByTime" else fills[-FILLS_PAGE:][::-1]
        if kind == "userNonFundingLedgerUpdates":
            start = body.get("startTime", 0)
            return [e for e in v.account(user).ledger if e["time"] >= start]
        if kind == "allMids":
            return {coin: number_text(price) for coin, price in v.prices.items()}
        if kind == "userAbstraction":
            return "default"
        raise VenueError(f"unknown info type {kind}")

    def _clearinghouse(self, user: str) -> dict[str, Any]:
        v = self.venue
        account = v.account(user)
        positions = []
        for coin, h in account.positions.items():
            mark = v.prices.get(coin, h.entry_price)
            leverage, cross = account.leverage.get(coin, (DEFAULT_LEVERAGE, True))
            positions.append(
                {
                    "type": "oneWay",
                    "position": {
                        "coin": coin,
                        "szi": number_text(h.size),
                        "entryPx": number_text(h.entry_price),
                        "positionValue": number_text(abs(h.size) * mark),
                        "unrealizedPnl": number_text(h.size * (mark - h.entry_price)),
                        "returnOnEquity": "0.0",
                        "liquidationPx": None,
                        "marginUsed": number_text(abs(h.size) * mark / leverage),
                        "maxLeverage": 50,
                        "leverage": {"type": "cross" if cross else "isolated", "value": leverage},
                        "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"},
                    },
                }
            )
        summary = {
            "accountValue": number_text(v.value(user)),
            "totalMarginUsed": number_text(v.margin(user)),
            "totalNtlPos": number_text(
                sum(abs(p.size) * v.prices.get(c, 0) for c, p in account.positions.items())
            ),
            "totalRawUsd": number_text(account.cash),
        }
        return {
            "assetPositions": positions,
            "marginSummary": summary,
            "crossMarginSummary": summary,
            "crossMaintenanceMarginUsed": "0.0",
            "withdrawable": number_text(v.withdrawable(user)),
            "time": v.clock.now_ms(),
        }

    def _exchange(self, body: dict[str, Any]) -> Any:
        signature = body.get("signature") or {}
        if not (isinstance(body.get("nonce"), int) and {"r", "s", "v"} <= signature.keys()):
            raise VenueError("Missing nonce or signature (r, s, v)")
        action, v = body["action"], self.venue
        vault = body.get("vaultAddress")
        user = ("0x" + vault.removeprefix("0x")).lower() if vault else v.main
        kind = action["type"]
        if kind == "order":
            fault = self.faults.take("order", ("reject",))
            statuses = [
                {"error": fault.argument} if fault else v.place(user, wire)
                for wire in action["orders"]
            ]
            return _ok("order", {"statuses": statuses})
        if kind in ("cancel", "cancelByCloid"):
            statuses = [
                v.cancel(user, oid=c["o"]) if kind == "cancel" else v.cancel(user, cloid=c["cloid"])
                for c in action["cancels"]
            ]
            return _ok("cancel", {"statuses": statuses})
        if kind == "scheduleCancel":
            at = action.get("time")
            if at is not None and at < body["nonce"] + 5000:
                raise VenueError(
                    "Scheduled cancel time too early, must be at least 5 seconds from now."
                )
            v.schedule_cancel(user, at)
            return {"status": "ok", "response": {"type": "default"}}
        if kind == "updateLeverage":
            coin = ASSETS[int(action["asset"])][0]
            v.account(user).leverage[coin] = (int(action["leverage"]), bool(action["isCross"]))
            return {"status": "ok", "response": {"type": "default"}}
        if kind == "subAccountTransfer":
            v.transfer(action["subAccountUser"], bool(action["isDeposit"]), int(action["usd"]))
            return {"status": "ok", "response": {"type": "default"}}
        if kind in ("approveBuilderFee", "setReferrer"):
            return {"status": "ok", "response": {"type": "default"}}
        raise VenueError(f"unknown action {kind}")


def _ok(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": kind, "data": data}}


def _kind(path: str, body: dict[str, Any]) -> str:
    """What a fault's ``on`` matches: the action's type or the info request's type."""
    if path == "/exchange":
        return str((body.get("action") or {}).get("type"))
    return str(body.get("type"))


def _handler(fake: FakeHyperliquid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            fake._connections.add(self.connection)

        def finish(self) -> None:
            fake._connections.discard(self.connection)
            with contextlib.suppress(OSError):
                super().finish()

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            fake.requests.append((self.path, body))
            fault = fake.faults.take(_kind(self.path, body), ("drop", "429", "late"))
            if fault is not None and fault.kind == "drop":
                self.close_connection = True
                self.connection.close()
                return
            if fault is not None and fault.kind == "429":
                self._send(429, None)
                return
            try:
                answer = fake.answer(self.path, body)
            except VenueError as error:
                answer = {"status": "err", "response": str(error)}
            if fault is not None and fault.kind == "late":
                fake._stopping.wait(fault.argument)
                self.close_connection = True
            self._send(200, answer)

        def _send(self, status: int, answer: Any) -> None:
            data = b"" if answer is None else json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:  # the client gave up waiting
                self.close_connection = True

    return Handler


@contextmanager
def serving(main: str, fee: float = 0.0) -> Iterator[FakeHyperliquid]:
    """A started fake venue, stopped at the end of the block."""
    fake = FakeHyperliquid(main, fee)
    with fake:
        yield fake
