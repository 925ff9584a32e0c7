"""The fake Hyperliquid understands ccxt as the real venue does: ccxt's own recorded requests
(``request/hyperliquid.json``), replayed through ccxt 4.5.90 against the fake, reach it with the
recorded body (less the keys that change per call) and get a well-formed answer; and the venue's
rules the exchange adapter relies on hold (stops fill at their level on a walk and at the price on
a gap, reduce-only orders never flip, scheduled cancels, transfers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ccxt
import pytest
from tests.fakes.hyperliquid import FIXTURES, FakeHyperliquid, markets

pytestmark = pytest.mark.skipif(
    not FIXTURES.is_dir(), reason="../shared/fixtures/ccxt (ccxt recordings) is not present"
)

WALLET = "0x" + "a1" * 20
KEY = "0x" + "5ec2e7" * 10 + "5ec2"


@pytest.fixture
def fake() -> Iterator[FakeHyperliquid]:
    with FakeHyperliquid(WALLET) as venue:
        yield venue


def client(fake: FakeHyperliquid, options: dict[str, Any]) -> ccxt.hyperliquid:
    exchange = ccxt.hyperliquid(
        {
            "walletAddress": WALLET,
            "privateKey": KEY,
            "timeout": 2000,
            "enableRateLimit": False,
            "options": options,
        }
    )
    exchange.urls["api"] = {"public": fake.url, "private": fake.url}
    exchange.set_markets(markets())
    return exchange


def recording(method: str, description: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.loads((FIXTURES / "request" / "hyperliquid.json").read_text())
    case = next(c for c in data["methods"][method] if c["description"] == description)
    return data, case


def without(value: Any, skip: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: without(v, skip) for k, v in value.items() if k not in skip}
    if isinstance(value, list):
        return [without(v, skip) for v in value]
    return value


SUB = "0xeba57e1d6bd242ba5f41b61ff1d30b481a535b58"
CLOID = "0x1234567890abcdef1234567890abcded"


def _prepare(fake: FakeHyperliquid, description: str) -> None:
    """Venue state under which the recorded request succeeds."""
    fake.deposit(WALLET, 10_000)
    for user in (
        SUB,
        "0x15f43D1f2DeE81424aFd891943262aa90F22cc2A",
        "0xc751489d24a33172541ea451bc253d7a9e98c781",
    ):
        fake.deposit(user, 10_000)
    fake.set_price("SOL", {"order with a subaccount": 175}.get(description, 130))
    fake.set_price("ETH", 2000)
    order = {"a": 5, "b": True, "p": "100", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}}
    fake.venue.place(WALLET, {**order, "c": CLOID})
    fake.venue.place("0x3B3741c0EFf9C6b556Ec813e70589161F416662A", {**order, "c": CLOID})
    ioc = {"a": 1, "b": True, "p": "2100", "s": "0.5", "r": False, "t": {"limit": {"tif": "Ioc"}}}
    fake.venue.place("0x15f43D1f2DeE81424aFd891943262aa90F22cc2A", ioc)


CASES = [
    ("createOrder", "order with clientOrderId"),
    ("createOrder", "order with a subaccount"),
    ("cancelOrdersForSymbols", "cancelOrders by clientOrderId"),
    ("setLeverage", "set leverage with a subaccount"),
    ("transfer", "transfer from main to subaccount"),
    ("transfer", "transfer from subaccount to main"),
    ("cancelAllOrdersAfter", "request with subAccount in options"),
    ("fetchOrder", "fetchOrder with clientOrderId"),
    ("fetchPositions", "fetchPositions for a subaccount"),
    ("fetchMyTrades", "fetchMyTrades for a subaccount"),
    ("fetchOpenOrders", "fetchOpenOrders for a subaccount"),
    ("fetchLedger", "fetchLedger for a subaccount"),
]


@pytest.mark.parametrize("method, description", CASES)
def test_the_fake_venue_takes_ccxts_recorded_requests(fake, method, description):
    data, case = recording(method, description)
    _prepare(fake, description)
    exchange = client(fake, {**data["options"], **case.get("options", {})})
    fake.requests.clear()
    try:
        result = getattr(exchange, method)(*case["input"])
    except ccxt.ExchangeError as error:
        # the recording asks for a cancel 1 ms after its nonce; the venue wants >= 5 s
        assert description == "request with subAccount in options", error
        assert "at least 5 seconds" in str(error)
        result = None
    path = "/" + case["url"].rsplit("/", 1)[1]
    recorded = json.loads(case["output"])
    sent = [b for p, b in fake.requests if p == path]
    kind = recorded["action"]["type"] if path == "/exchange" else recorded["type"]
    sent = [b for b in sent if (b["action"]["type"] if path == "/exchange" else b["type"]) == kind]
    skip = set(data["skipKeys"])
    assert without(sent[-1], skip) == without(recorded, skip)
    if method == "createOrder":
        assert result["info"]["filled"]["totalSz"] == recorded["action"]["orders"][0]["s"]
    if method == "fetchOrder":
        assert result["clientOrderId"] == CLOID and result["status"] == "open"
    if method == "fetchPositions":
        assert [(p["symbol"], p["contracts"]) for p in result] == [("ETH/USDC:USDC", 0.5)]
    if method == "fetchMyTrades":
        assert [(t["symbol"], t["amount"], t["price"]) for t in result] == [
            ("ETH/USDC:USDC", 0.5, 2000.0)
        ]
    if method == "cancelOrdersForSymbols":
        assert result[0]["info"]["response"]["data"]["statuses"] == ["success"]


def test_a_stop_fills_at_its_level_on_a_walk_and_at_the_price_on_a_gap(fake):
    fake.deposit(WALLET, 10_000)
    fake.set_price("BTC", 100.0)
    buy = {"a": 0, "b": True, "p": "105", "s": "1", "r": False, "t": {"limit": {"tif": "Ioc"}}}
    stop = {"trigger": {"isMarket": True, "triggerPx": "98", "tpsl": "sl"}}
    sell_stop = {"a": 0, "b": False, "p": "90", "s": "1", "r": True, "t": stop}
    for gap, expected in ((False, "98.0"), (True, "95.0")):
        fake.set_price("BTC", 100.0)
        assert "filled" in fake.venue.place(WALLET, buy)
        assert "resting" in fake.venue.place(WALLET, sell_stop)
        if gap:
            fake.set_price("BTC", 95.0)
        else:
            fake.walk("BTC", [99.0, 95.0])
        fill = fake.venue.account(WALLET).fills[-1]
        assert (fill["px"], fill["dir"], fill["side"]) == (expected, "Close Long", "A")
        assert not fake.venue.account(WALLET).positions


def test_a_reduce_only_order_never_flips_and_is_cancelled_with_nothing_to_reduce(fake):
    fake.deposit(WALLET, 10_000)
    fake.set_price("BTC", 100.0)
    fake.venue.place(
        WALLET,
        {"a": 0, "b": False, "p": "95", "s": "1", "r": False, "t": {"limit": {"tif": "Ioc"}}},
    )
    target = {"trigger": {"isMarket": True, "triggerPx": "90", "tpsl": "tp"}}
    resting = fake.venue.place(
        WALLET, {"a": 0, "b": True, "p": "95", "s": "3", "r": True, "t": target}
    )
    close = {"a": 0, "b": True, "p": "105", "s": "2", "r": True, "t": {"limit": {"tif": "Ioc"}}}
    assert fake.venue.place(WALLET, close)["filled"]["totalSz"] == "1.0"
    assert not fake.venue.account(WALLET).positions
    fake.walk("BTC", [89.0])
    assert fake.venue.orders[resting["resting"]["oid"]].status == "reduceOnlyCanceled"
    assert "Reduce only" in fake.venue.place(WALLET, close)["error"]


def test_a_scheduled_cancel_cancels_every_open_order_when_its_time_comes(fake):
    exchange = client(fake, {"builderFee": False, "refSet": True})
    fake.deposit(SUB, 1000)
    fake.set_price("SOL", 100.0)
    exchange.create_order("SOL/USDC:USDC", "limit", "buy", 1, 90, {"vaultAddress": SUB})
    exchange.create_order(
        "SOL/USDC:USDC", "market", "sell", 1, 80, {"vaultAddress": SUB, "stopLossPrice": 80}
    )
    exchange.cancel_all_orders_after(60_000, {"subAccountAddress": SUB})
    fake.advance(59)
    assert len(fake.venue.open_orders(SUB)) == 2
    fake.advance(2)
    assert fake.venue.open_orders(SUB) == []


def test_a_transfer_moves_cash_once_and_never_more_than_the_giver_holds(fake):
    exchange = client(fake, {"builderFee": False, "refSet": True})
    fake.deposit(WALLET, 100)
    exchange.transfer("USDC", 60, "main", SUB, {"method": "subAccountTransfer"})
    with pytest.raises(ccxt.InsufficientFunds):
        exchange.transfer("USDC", 60, "main", SUB, {"method": "subAccountTransfer"})
    assert (fake.venue.value(WALLET), fake.venue.value(SUB)) == (40, 60)
    assert [e["delta"]["usdc"] for e in fake.venue.account(SUB).ledger] == ["60.0"]
