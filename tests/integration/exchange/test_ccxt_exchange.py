"""CcxtExchange against the fake Hyperliquid: each port method, idempotency by client id through
lost answers, rate limits, disconnects, rejections and partial fills, resting stops and targets,
closing everything, and transfers that never move money twice."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from tests.integration.exchange.conftest import FEE, SUBACCOUNTS, WALLET, live_exchange

from sixbtc.application.errors import ExchangeError, ExchangeUnavailable, OrderRejected
from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.candles import Candles
from sixbtc.domain.orders import OrderRequest, Protection, Side, client_order_id, exit_reason
from sixbtc.domain.position import ExitReason
from sixbtc.domain.timeframe import Timeframe

PARAMETERS = ExecutionParameters(stop_loss=0.02, take_profit=0.03, leverage=3.0, max_hold_bars=10)
PROTECTION = Protection(PARAMETERS)
SUB = SUBACCOUNTS[0]


def entry(
    n: int = 1, side: Side = Side.BUY, amount: float = 1.0, coin: str = "SOL"
) -> OrderRequest:
    return OrderRequest(client_order_id("entry", n, coin), 1, coin, side, amount)


def funded(fake, exchange, amount: float = 1000.0, subaccount: int = 1) -> None:
    exchange.transfer(subaccount, amount, f"fund-{subaccount}")


def orders_sent(fake) -> list[dict]:
    return [o for body in fake.exchange_actions("order") for o in body["action"]["orders"]]


@pytest.fixture
def sol(fake, exchange):
    fake.set_price("SOL", 100.0)
    funded(fake, exchange)
    return fake


def test_an_entry_fills_then_rests_its_stop_and_target_with_derived_ids(sol, exchange):
    order = entry()
    exchange.place_order(order, PROTECTION)
    [position] = exchange.positions(1)
    assert (position.symbol, position.amount, position.entry_price) == ("SOL", 1.0, 100.0)
    assert (position.stop, position.target) == (98.0, 103.0)
    resting = {o.client_order_id: o for o in exchange.open_orders(1)}
    assert {exit_reason(c) for c in resting} == {ExitReason.STOP_LOSS, ExitReason.TAKE_PROFIT}
    assert all(o.reduce_only and o.side is Side.SELL and o.amount == 1.0 for o in resting.values())
    assert client_order_id(order.client_order_id, reason=ExitReason.STOP_LOSS) in resting
    [leverage] = sol.exchange_actions(
        "updateLeverage"
    )  # one above the strategy's 3: margin headroom
    assert leverage["action"]["leverage"] == 4 and leverage["vaultAddress"] == SUB[2:]
    assert all(o["c"] for o in orders_sent(sol))  # every order carries its client id
    assert all(b["vaultAddress"] == SUB[2:] for b in sol.exchange_actions("order"))
    assert exchange.equity(1) == pytest.approx(1000 - 100 * FEE)
    assert exchange.main_balance() == pytest.approx(9000)


def test_a_market_order_is_priced_from_the_last_close_observed(sol, exchange):
    window = Candles(
        "SOL", Timeframe.M5, np.array([0]), *(np.array([101.0]) for _ in range(4)), np.array([1.0])
    )
    exchange.observe(1, [window])
    exchange.place_order(entry(), PROTECTION)
    assert orders_sent(sol)[0]["p"] == "106.05"  # 101 and 5% slippage
    assert sol.venue.account(SUB).fills[0]["px"] == "100.0"  # filled at the venue's price


def test_an_order_placed_again_is_not_sent_again(sol, exchange):
    order = entry()
    exchange.place_order(order, PROTECTION)
    assert exchange.order_known(1, order.client_order_id)
    exchange.place_order(order, PROTECTION)
    assert len(orders_sent(sol)) == 3  # the entry, its stop and its target, once
    assert not exchange.order_known(1, entry(2).client_order_id)


def test_a_placement_whose_answer_is_lost_is_looked_up_not_doubled(sol, exchange):
    sol.faults.timeout_after_accept(n=1, on="order", delay=0.6)
    order = entry()
    exchange.place_order(order, PROTECTION)  # the entry's answer times out; it is looked up
    exchange.place_order(order, PROTECTION)  # and a retry of the executor's changes nothing
    entries = [o for o in orders_sent(sol) if o["c"] == order.client_order_id]
    assert len(entries) == 1
    assert len(sol.venue.account(SUB).fills) == 1
    [position] = exchange.positions(1)
    assert (position.amount, position.stop, position.target) == (1.0, 98.0, 103.0)


def test_order_known_finds_an_order_accepted_while_the_venue_was_out_of_reach(sol, exchange):
    sol.faults.timeout_after_accept(n=1, on="order", delay=0.6)
    sol.faults.drop(n=1, on="orderStatus", skip=1)  # the lookup after the timeout fails too
    order = entry()
    with pytest.raises(ExchangeUnavailable, match="subaccount 1"):
        exchange.place_order(order, PROTECTION)
    assert exchange.order_known(1, order.client_order_id)
    exchange.place_order(order, PROTECTION)  # the executor's next pass: protection, no entry
    assert len([o for o in orders_sent(sol) if o["c"] == order.client_order_id]) == 1
    assert exchange.positions(1)[0].stop == 98.0


def test_a_rate_limit_is_waited_out_and_retried(sol, exchange):
    waits = []
    exchange._sleep = waits.append
    exchange.backoff_seconds = 0.01
    sol.faults.rate_limit(n=2, on="order")
    exchange.place_order(entry(), PROTECTION)
    assert waits == [0.01, 0.02]
    assert exchange.positions(1)[0].amount == 1.0
    sol.faults.rate_limit(n=5, on="clearinghouseState")
    with pytest.raises(ExchangeUnavailable, match="RateLimitExceeded"):
        exchange.equity(1)


def test_the_connection_grows_when_the_venue_answers_again(sol, exchange):
    assert exchange.connection == 0
    sol.stop()
    with pytest.raises(ExchangeUnavailable, match="subaccount 1 account state"):
        exchange.equity(1)
    with pytest.raises(ExchangeUnavailable):
        exchange.equity(1)
    sol.start()
    assert exchange.equity(1) == pytest.approx(1000)
    assert exchange.connection == 1
    sol.faults.drop(n=1, on="clearinghouseState")
    with pytest.raises(ExchangeUnavailable):
        exchange.equity(1)
    sol.restart(keep_state=True)
    assert exchange.equity(1) == pytest.approx(1000)
    assert exchange.connection == 2


def test_a_refused_order_raises_order_rejected_and_leaves_nothing(sol, exchange):
    sol.faults.reject(n=1, message="Insufficient margin to place order. asset=5")
    with pytest.raises(OrderRejected, match="Insufficient margin"):
        exchange.place_order(entry(), PROTECTION)
    sol.faults.reject(n=1, message="Something the venue never said before")
    with pytest.raises(OrderRejected, match="never said"):
        exchange.place_order(entry(2), PROTECTION)
    assert exchange.positions(1) == [] and exchange.open_orders(1) == []
    with pytest.raises(OrderRejected, match="Insufficient margin"):  # the venue's own check
        exchange.place_order(entry(3, amount=100.0), PROTECTION)


def test_a_partial_fill_is_protected_for_its_size(sol, exchange):
    sol.partial_fill(0.4)
    exchange.place_order(entry(amount=2.0), PROTECTION)
    [position] = exchange.positions(1)
    assert position.amount == 0.8
    assert sorted(o.amount for o in exchange.open_orders(1)) == [0.8, 0.8]


def test_a_resting_stop_closes_the_position_and_its_fill_says_stop_loss(sol, exchange):
    order = entry(side=Side.SELL)
    exchange.place_order(order, PROTECTION)
    assert exchange.positions(1)[0].stop == 102.0
    sol.walk("SOL", [101.0, 103.0])
    assert exchange.positions(1) == []
    opened, stopped = exchange.fills(1)
    assert (opened.client_order_id, opened.reason, opened.side) == (
        order.client_order_id,
        None,
        Side.SELL,
    )
    assert (stopped.reason, stopped.price, stopped.side, stopped.amount) == (
        ExitReason.STOP_LOSS,
        102.0,
        Side.BUY,
        1.0,
    )
    assert stopped.fee == pytest.approx(102.0 * FEE)
    assert exchange.open_orders(1) == []  # the target left behind is cancelled
    assert sol.venue.open_orders(SUB) == []


def test_a_reduce_only_exit_closes_the_position_once_and_nothing_after(sol, exchange):
    exchange.place_order(entry(), PROTECTION)
    exit_order = OrderRequest(client_order_id("exit"), 1, "SOL", Side.SELL, 1.0, reduce_only=True)
    exchange.place_order(exit_order, None)
    exchange.place_order(OrderRequest(client_order_id("again"), 1, "SOL", Side.SELL, 1.0, True))
    assert exchange.positions(1) == []
    assert [f.client_order_id for f in exchange.fills(1)][1:] == [exit_order.client_order_id]


def test_cancel_order_cancels_by_client_id_and_ignores_what_is_gone(sol, exchange):
    order = entry()
    exchange.place_order(order, PROTECTION)
    stop = client_order_id(order.client_order_id, reason=ExitReason.STOP_LOSS)
    exchange.cancel_order(1, stop)
    exchange.cancel_order(1, stop)
    exchange.cancel_order(1, client_order_id("never placed"))
    assert [exit_reason(o.client_order_id) for o in exchange.open_orders(1)] == [
        ExitReason.TAKE_PROFIT
    ]
    assert exchange.positions(1)[0].stop is None


def test_close_all_leaves_no_position_and_no_order_on_every_subaccount(sol, exchange):
    sol.set_price("BTC", 50_000.0)
    funded(sol, exchange, subaccount=2)
    exchange.place_order(entry(), PROTECTION)
    exchange.place_order(entry(2, Side.SELL, 0.01, "BTC"), PROTECTION)
    exchange.place_order(
        OrderRequest(client_order_id("e", 3), 2, "SOL", Side.SELL, 2.0), PROTECTION
    )
    for subaccount in (1, 2):
        exchange.close_all(subaccount, "halt-7")
        exchange.close_all(subaccount, "halt-7")  # a retry closes nothing twice
    for subaccount in (1, 2):
        assert exchange.positions(subaccount) == [] and exchange.open_orders(subaccount) == []
        closes = [f for f in exchange.fills(subaccount) if f.reason is ExitReason.END]
        assert len(closes) == len({f.symbol for f in closes}) > 0
    assert [f.symbol for f in exchange.fills(1) if f.reason] == ["SOL", "BTC"]


def test_fills_are_numbered_in_time_order_and_foreign_fills_carry_no_id(sol, exchange):
    sol.clock.fixed_ms = 1_767_225_600_000
    exchange.place_order(entry(), PROTECTION)
    exchange.place_order(OrderRequest(client_order_id("x"), 1, "SOL", Side.SELL, 1.0, True))
    ioc = {"a": 5, "b": True, "p": "110", "s": "0.5", "r": False, "t": {"limit": {"tif": "Ioc"}}}
    sol.venue.place(SUB, ioc)  # someone trading by hand, no client id
    sol.advance(1)
    sol.venue.place(SUB, {**ioc, "c": "0x" + "ab" * 16 + "ff"})  # a cloid of no order of ours
    fills = exchange.fills(1)
    assert [f.sequence for f in fills] == [
        1_767_225_600_000_000,
        1_767_225_600_000_001,
        1_767_225_600_000_002,
        1_767_225_601_000_000,
    ]
    assert [(f.client_order_id, f.reason) for f in fills[2:]] == [("", None), ("", None)]
    assert fills[0].at == datetime(2026, 1, 1, tzinfo=UTC)
    assert exchange.fills(1, after=fills[1].sequence) == fills[2:]
    assert exchange.fills(1, after=fills[-1].sequence) == []


def test_keep_alive_arms_and_disarms_the_venues_scheduled_cancel(sol, exchange):
    exchange.place_order(entry(), PROTECTION)
    exchange.keep_alive(1, 60)
    [armed] = sol.exchange_actions("scheduleCancel")
    assert armed["vaultAddress"] == SUB[2:] and armed["action"]["time"] >= armed["nonce"] + 60_000
    exchange.keep_alive(1, 0)
    assert "time" not in sol.exchange_actions("scheduleCancel")[-1]["action"]
    sol.advance(120)
    assert len(exchange.open_orders(1)) == 2  # disarmed: the stops rest on
    exchange.keep_alive(1, 60)
    sol.advance(61)
    assert exchange.open_orders(1) == [] and exchange.positions(1)[0].stop is None


def test_a_transfer_moves_money_once_even_when_its_answer_is_lost(fake, exchange):
    exchange.transfer(1, 300.0, "t-1")
    exchange.transfer(1, 300.0, "t-1")
    assert exchange.equity(1) == 300.0 and exchange.main_balance() == 9700.0
    fake.faults.timeout_after_accept(n=1, on="subAccountTransfer", delay=0.6)
    with pytest.raises(ExchangeUnavailable):
        exchange.transfer(1, -100.0, "t-2")
    exchange.transfer(1, -100.0, "t-2")  # found in the ledger: not sent again
    assert exchange.equity(1) == 200.0
    assert len(fake.exchange_actions("subAccountTransfer")) == 2
    fake.faults.drop(n=1, on="subAccountTransfer")  # lost before it took effect
    with pytest.raises(ExchangeUnavailable):
        exchange.transfer(1, 50.0, "t-3")
    exchange.transfer(1, 50.0, "t-3")  # not in the ledger: sent again
    assert exchange.equity(1) == 250.0
    with pytest.raises(ExchangeError, match="subaccount 2 transfer"):
        exchange.transfer(2, -1.0, "t-4")  # it holds nothing
    assert math.isclose(exchange.main_balance() + exchange.equity(1), 10_000)


def test_a_restart_of_the_adapter_keeps_the_journal(fake, exchange):
    exchange.transfer(1, 100.0, "t-1")
    again = live_exchange(fake, exchange.journal)
    again.transfer(1, 100.0, "t-1")
    assert again.equity(1) == 100.0 and again.main_balance() == pytest.approx(9900)
    assert WALLET.lower() == fake.venue.main
