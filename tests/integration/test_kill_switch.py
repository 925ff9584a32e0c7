"""The kill switch and the emergency stops as the executor obeys them on the paper exchange: a
halt refuses entries and lets exits run, a flatten leaves no position and no order, the drawdown,
daily-loss and stale-data stops fire at their limits and are recorded; reconciliation flags a
position opened by hand and blocks entries until it is gone; an order whose placement was not
recorded is looked up, never sent again."""

from __future__ import annotations

import attrs
import pytest
from tests.integration.executor_harness import SUBACCOUNT, Desk
from tests.integration.test_executor import PARAMS, Crash, small_markets

from sixbtc.adapters.memory import InMemoryMarketData
from sixbtc.domain.emergency import EmergencyLimits
from sixbtc.domain.halt import HaltCause, HaltKind
from sixbtc.domain.orders import OrderRequest, OrderStatus, Protection, Side
from sixbtc.domain.position import ExitReason
from sixbtc.domain.reconciliation import IssueKind

OPERATOR = "operator:test"


def run_until(desk: Desk, bars: int) -> None:
    """A pass at the close of each of the first ``bars`` candles."""
    for time_ms in desk.times()[:bars]:
        desk.close_of(time_ms)
        desk.executor.tick()


def run_from(desk: Desk, bars: int) -> None:
    for time_ms in desk.times()[bars:]:
        desk.close_of(time_ms)
        desk.executor.tick()


def same(trades):
    """Trades as values (their ids are random)."""
    return sorted(
        (attrs.evolve(t, id=None) for t in trades), key=lambda t: (t.entry_time, t.symbol)
    )


def halts(desk: Desk):
    with desk.unit_of_work() as uow:
        return uow.halts.latest(10)


def issues(desk: Desk):
    with desk.unit_of_work() as uow:
        return uow.issues.unresolved()


def test_a_halt_refuses_entries_and_lets_exits_run():
    free = Desk(small_markets(), PARAMS)
    free.run()
    halted = Desk(small_markets(), PARAMS)
    run_until(halted, 3)
    halted.kill_switch.halt(OPERATOR, "maintenance")
    at = halted.clock.now()
    run_from(halted, 3)
    before = [t for t in free.trades() if t.entry_time < at]
    assert before and len(before) < len(free.trades())  # entries came after the halt too
    assert same(halted.trades()) == same(before)  # the same trades, closed the same way
    assert not halted.exchange.positions(SUBACCOUNT)


def test_resume_lets_entries_in_again():
    desk = Desk(small_markets(), PARAMS)
    desk.kill_switch.halt(OPERATOR, "")
    run_until(desk, 4)
    assert desk.trades() == []
    lifted = desk.kill_switch.resume(OPERATOR)
    run_from(desk, 4)
    assert [h.lifted_by for h in lifted] == [OPERATOR]
    assert desk.trades()


def test_flatten_closes_everything_then_stays_halted():
    desk = Desk(small_markets(), PARAMS)
    run_until(desk, 2)
    assert desk.exchange.positions(SUBACCOUNT)
    flatten = desk.kill_switch.halt(OPERATOR, "going away", HaltKind.FLATTEN)
    run_from(desk, 2)
    assert not desk.exchange.positions(SUBACCOUNT)
    assert not desk.exchange.open_orders(SUBACCOUNT)
    trades = desk.trades()
    assert all(not t.is_open for t in trades)
    assert [t.exit_reason for t in trades if t.exit_time >= flatten.set_at] == [ExitReason.END] * 2
    assert all(t.entry_time < flatten.set_at for t in trades)  # nothing entered after it
    (record,) = halts(desk)
    assert record.is_active and record.flattened_at is not None


def test_the_drawdown_stop_flattens_at_its_limit_and_is_recorded():
    desk = Desk(small_markets(), PARAMS, limits=EmergencyLimits(max_drawdown=0.001))
    desk.run()
    (halt,) = halts(desk)
    assert (halt.kind, halt.cause, halt.set_by) == (
        HaltKind.FLATTEN,
        HaltCause.DRAWDOWN,
        "executor",
    )
    assert "below its peak" in halt.detail and "limit 0.1%" in halt.detail
    assert halt.flattened_at is not None
    with desk.unit_of_work() as uow:
        day = uow.portfolio.latest()
    assert day.peak > day.last
    assert all(not t.is_open for t in desk.trades())


def test_the_stale_data_stop_halts_entries_until_candles_are_fresh():
    markets = small_markets()
    desk = Desk(markets, PARAMS, limits=EmergencyLimits(stale_data_minutes=90))
    full = desk.market_data
    desk.market_data = InMemoryMarketData([m.candles.slice(0, 4) for m in markets])
    desk.restart()
    run_until(desk, 5)  # candle 4 missing: one hour behind, under the limit
    assert halts(desk) == []
    for time_ms in desk.times()[5:7]:  # two and three hours behind
        desk.close_of(time_ms)
        desk.executor.tick()
    (halt,) = halts(desk)
    assert (halt.kind, halt.cause) == (HaltKind.HALT, HaltCause.STALE_DATA)
    assert halt.detail == "candles behind by more than 90 minutes: BTC 120 min, ETH 120 min"
    desk.market_data = full
    desk.restart()
    desk.executor.tick()
    (lifted,) = halts(desk)
    assert lifted.lifted_by == "executor: candles fresh again"


def test_a_position_opened_by_hand_is_flagged_and_blocks_entries_until_closed():
    desk = Desk(small_markets(), PARAMS)
    hand = OrderRequest("0x" + "ab" * 16, SUBACCOUNT, "ETH", Side.BUY, 0.5)
    held = attrs.evolve(PARAMS, stop_loss=0.3, take_profit=0.3, max_hold_bars=100)
    desk.exchange.place_order(hand, Protection(held))
    run_until(desk, 3)
    (issue,) = issues(desk)
    assert (issue.kind, issue.subject) == (IssueKind.UNKNOWN_POSITION, "ETH")
    assert desk.trades() == []  # BTC's entry signal at the first candle was not followed
    close = OrderRequest("0x" + "cd" * 16, SUBACCOUNT, "ETH", Side.SELL, 0.5, reduce_only=True)
    desk.exchange.place_order(close)
    run_from(desk, 3)
    assert issues(desk) == []
    assert desk.trades()  # entries came back once the position was gone


class Spy:
    """The exchange, counting placements per client id; crashes right after the first one."""

    def __init__(self, exchange) -> None:
        self._exchange, self.placed, self.crash = exchange, [], True

    def __getattr__(self, name):
        return getattr(self._exchange, name)

    def place_order(self, order, protection=None):
        self._exchange.place_order(order, protection)
        self.placed.append(order.client_order_id)
        if self.crash:
            self.crash = False
            raise Crash("after sending, before recording")


def test_an_order_sent_before_a_crash_is_found_and_never_sent_again():
    desk = Desk(small_markets(), PARAMS)
    spy = Spy(desk.exchange)
    desk.exchange = spy
    desk.restart()
    desk.close_of(desk.times()[0])
    with pytest.raises(Crash):
        desk.executor.tick()
    with desk.unit_of_work() as uow:
        pending = [o.client_order_id for o in uow.orders.unsettled(SUBACCOUNT)]
        assert {o.status for o in uow.orders.unsettled(SUBACCOUNT)} == {OrderStatus.PENDING}
    assert spy.placed == pending[:1]
    desk.restart()  # a new process, same candle
    desk.executor.tick()
    run_from(desk, 1)
    assert [spy.placed.count(cloid) for cloid in pending] == [1, 1]
    with desk.unit_of_work() as uow:
        assert {uow.orders.get(c).status for c in pending} == {OrderStatus.FILLED}
    assert {t.entry_order_id for t in desk.trades()} >= set(pending)


def test_limits_refuse_values_out_of_range_by_name():
    with pytest.raises(ValueError, match=r"max_drawdown: 1\.5; expected a fraction"):
        EmergencyLimits(max_drawdown=1.5)
    with pytest.raises(ValueError, match="stale_data_minutes: -1"):
        attrs.evolve(EmergencyLimits(), stale_data_minutes=-1)
