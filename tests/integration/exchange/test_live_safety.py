"""Issue 22's acceptance at the executor, through CcxtExchange on the fake Hyperliquid: an order
whose answer was lost after acceptance is not doubled; a crash between sending and recording is
adopted at the restart; a position opened by hand is flagged and blocks entries; a flatten and a
drawdown stop leave no position and no order; no key anywhere in the database."""

from __future__ import annotations

import pytest
from tests.integration.exchange.conftest import KEY, SUBACCOUNTS
from tests.integration.exchange.test_live_parity import live_desk, run, scripted
from tests.integration.executor_harness import SUBACCOUNT
from tests.integration.test_executor import Crash
from tests.integration.test_kill_switch import Spy

from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.emergency import EmergencyLimits
from sixbtc.domain.halt import HaltCause, HaltKind
from sixbtc.domain.orders import OrderStatus
from sixbtc.domain.reconciliation import IssueKind

PARAMS = ExecutionParameters(stop_loss=0.04, take_profit=0.05, leverage=2.0, max_hold_bars=6)
SUB = SUBACCOUNTS[SUBACCOUNT - 1]


def desk_on(fake, limits: EmergencyLimits | None = None):
    desk = live_desk(fake, [scripted("SOL", 1), scripted("ETH", 2)], PARAMS)
    if limits is not None:
        desk.kill_switch = type(desk.kill_switch)(desk.unit_of_work, desk.clock, limits)
        desk.restart()
    return desk


def venue_orders(fake) -> list[str]:
    """The client id of every order the venue received from us (our orders carry one)."""
    return [
        order["c"]
        for action in fake.exchange_actions("order")
        for order in action["action"]["orders"]
        if "c" in order
    ]


def our_orders(desk):
    with desk.unit_of_work() as uow:
        return {o.client_order_id: o for o in uow.orders.unsettled(SUBACCOUNT)} | {
            f.client_order_id: None for f in uow.fills.after(SUBACCOUNT, 0)
        }


def test_an_order_accepted_while_its_answer_was_lost_is_not_sent_again(fake):
    desk = desk_on(fake)
    run(fake, desk, range(0, 5))
    fake.faults.timeout_after_accept(n=2, on="order")
    run(fake, desk, range(5, 30))
    sent = venue_orders(fake)
    assert len(sent) == len(set(sent))  # no client id twice on the venue
    assert desk.trades()


def test_a_crash_between_sending_and_recording_is_adopted_at_the_restart(fake):
    desk = desk_on(fake)
    spy = Spy(desk.exchange)
    desk.exchange = spy
    desk.restart()
    with pytest.raises(Crash):
        run(fake, desk, range(0, 1))
    with desk.unit_of_work() as uow:
        pending = [o.client_order_id for o in uow.orders.unsettled(SUBACCOUNT)]
    assert spy.placed == pending[:1]
    desk.restart()  # a new process
    run(fake, desk, range(0, 3))
    assert [venue_orders(fake).count(c) for c in pending] == [1] * len(pending)
    with desk.unit_of_work() as uow:
        assert {uow.orders.get(c).status for c in pending} <= {
            OrderStatus.FILLED,
            OrderStatus.CANCELLED,
        }
        assert uow.orders.get(pending[0]).status is OrderStatus.FILLED


def test_a_position_opened_by_hand_is_flagged_and_blocks_entries_on_its_subaccount(fake):
    desk = desk_on(fake)
    run(fake, desk, range(0, 3))
    price = fake.venue.prices["ETH"]
    hand = {"a": 1, "b": True, "p": f"{price * 1.01:.1f}", "s": "0.5", "r": False}
    fake.venue.place(SUB, {**hand, "t": {"limit": {"tif": "Ioc"}}})  # no client id
    blocked_at = desk.clock.now()
    run(fake, desk, range(3, 20))
    with desk.unit_of_work() as uow:
        issues = uow.issues.unresolved(SUBACCOUNT)
        entries_after = [
            o
            for o in uow.orders.unsettled(SUBACCOUNT)
            if not o.request.reduce_only and o.created_at > blocked_at
        ]
    assert [(i.kind, i.subject) for i in issues][:1] in (
        [(IssueKind.UNKNOWN_POSITION, "ETH")],
        [(IssueKind.SIZE_MISMATCH, "ETH")],
    )
    entered = [t for t in desk.trades() if t.entry_time > blocked_at]
    assert entered == [] and entries_after == []


def test_flatten_leaves_every_subaccount_with_no_position_and_no_order(fake):
    desk = desk_on(fake)
    run(fake, desk, range(0, 8))
    assert desk.exchange.positions(SUBACCOUNT) or desk.exchange.open_orders(SUBACCOUNT)
    desk.kill_switch.halt("operator:test", "leaving", HaltKind.FLATTEN)
    desk.executor.tick()  # at once, before the next candle
    for subaccount in (1, 2):
        assert desk.exchange.positions(subaccount) == []
        assert desk.exchange.open_orders(subaccount) == []
    with desk.unit_of_work() as uow:
        (halt,) = uow.halts.active()
    assert halt.flattened_at is not None
    assert all(not t.is_open for t in desk.trades())


def test_a_drawdown_stop_flattens_at_its_limit_and_nothing_holds_a_key(fake):
    desk = desk_on(
        fake, EmergencyLimits(max_drawdown=0.002, max_daily_loss=0, stale_data_minutes=0)
    )
    run(fake, desk, range(0, 40))
    with desk.unit_of_work() as uow:
        halts = uow.halts.latest(5)
        day = uow.portfolio.latest()
    drawdown = [h for h in halts if h.cause is HaltCause.DRAWDOWN]
    assert drawdown and drawdown[0].kind is HaltKind.FLATTEN and drawdown[0].flattened_at
    assert day.peak > day.last
    assert desk.exchange.positions(SUBACCOUNT) == []
    assert KEY[2:] not in repr(desk.state()) and KEY[2:] not in repr(halts)
