"""One contract for live trading's records (subaccounts, orders, fills, trades), run on memory,
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.integration.test_repository_contract import (  # noqa: F401 (the fixture)
    T0,
    UowFactory,
    make_strategy,
    new_uow,
    store,
)

from sixbtc.application.errors import DuplicateRecord, NotFound
from sixbtc.domain.orders import Fill, Order, OrderRequest, OrderStatus, Side
from sixbtc.domain.position import Direction, ExitReason
from sixbtc.domain.subaccount import AccountState, Subaccount
from sixbtc.domain.trade import Trade


@pytest.fixture
def strategy_id(new_uow: UowFactory):  # noqa: F811
    strategy = make_strategy(1)
    store(new_uow, strategy)
    return strategy.id


def test_subaccounts_are_assigned_saved_and_listed_by_id(new_uow, strategy_id):  # noqa: F811
    with new_uow() as uow:
        for n in (2, 1):
            uow.subaccounts.add(Subaccount(n, T0))
        uow.commit()
    with new_uow() as uow:
        first = uow.subaccounts.get(1)
        first.assign(strategy_id, 250.0)
        first.record_balance(260.0)
        uow.subaccounts.save(first)
        uow.commit()
    with new_uow() as uow:
        listed = uow.subaccounts.all()
        with pytest.raises(DuplicateRecord):
            uow.subaccounts.add(Subaccount(2, T0))
        with pytest.raises(NotFound):
            uow.subaccounts.get(9)
    assert [s.id for s in listed] == [1, 2]
    assert listed[0] == Subaccount(1, T0, 250.0, strategy_id, AccountState.ACTIVE, 260.0, 260.0)
    assert listed[1].is_free


def order(n: int, strategy_id, subaccount: int = 1, minutes: int = 0) -> Order:
    request = OrderRequest(f"s1-{n:04d}", subaccount, "BTC", Side.BUY, 0.5 + n, reduce_only=n > 1)
    atr = 12.5 if n == 1 else None
    return Order(strategy_id, request, T0 + timedelta(minutes=minutes), T0, atr)


def test_orders_are_recorded_before_they_are_sent_and_never_twice(new_uow, strategy_id):  # noqa: F811
    with new_uow() as uow:
        uow.orders.add(order(1, strategy_id, minutes=2))
        uow.orders.add(order(2, strategy_id, minutes=1))
        uow.orders.add(order(3, strategy_id, subaccount=2))
        uow.commit()
    with new_uow() as uow:
        with pytest.raises(DuplicateRecord, match="s1-0001"):
            uow.orders.add(order(1, strategy_id))
        sent = uow.orders.get("s1-0002")
        sent.filled()
        uow.orders.save(sent)
        uow.commit()
    with new_uow() as uow:
        assert uow.orders.get("s1-0001") == order(1, strategy_id, minutes=2)
        assert uow.orders.get("s1-0002").status is OrderStatus.FILLED
        assert [o.client_order_id for o in uow.orders.unsettled(1)] == ["s1-0001"]
        with pytest.raises(NotFound):
            uow.orders.get("nope")


def test_fills_are_kept_once_per_subaccount_and_sequence(new_uow, strategy_id):  # noqa: F811
    fills = [
        Fill(1, n + 1, "s1-0001", "BTC", "buy", 0.25, 100.0 + n, 0.01, T0 + timedelta(seconds=n))
        for n in range(2)
    ]
    closing = Fill(1, 3, "0xstop", "BTC", "sell", 0.5, 98.0, 0.02, T0, ExitReason.STOP_LOSS)
    with new_uow() as uow:
        assert uow.fills.last_sequence(1) == 0
        uow.orders.add(order(1, strategy_id))
        for fill in [*fills, closing, Fill(2, 7, "x", "ETH", "sell", 1.0, 1.0, 0.0, T0)]:
            uow.fills.add(fill)
        uow.commit()
    with new_uow() as uow:
        assert uow.fills.for_order("s1-0001") == fills
        assert uow.fills.for_order("0xstop") == [closing]
        assert uow.fills.for_order("s1-0002") == []
        assert (uow.fills.last_sequence(1), uow.fills.last_sequence(2)) == (3, 7)
        assert uow.fills.after(1, 1) == [fills[1], closing]
        assert uow.fills.after(2, 7) == []
        with pytest.raises(DuplicateRecord):
            uow.fills.add(Fill(1, 2, "other", "BTC", "buy", 1.0, 1.0, 0.0, T0))
        assert uow.orders.find("s1-0001") == order(1, strategy_id)
        assert uow.orders.find("0xstop") is None


def test_trades_open_close_and_read_back_with_every_field(new_uow, strategy_id):  # noqa: F811
    opened = Trade(strategy_id, 1, "ETH", Direction.SHORT, T0, 2000.0, 0.3, 1.5, "s1-0001",
                   stop=2040.0, target=1920.0, fees=0.27)  # fmt: skip
    later = Trade(strategy_id, 1, "BTC", 1, T0 + timedelta(hours=1), 100.0, 2.0, 2.0, "s1-0002")
    with new_uow() as uow:
        uow.trades.add(later)
        uow.trades.add(opened)
        uow.commit()
    with new_uow() as uow:
        assert uow.trades.count() == 2
        assert [t.id for t in uow.trades.open_for(strategy_id)] == [opened.id, later.id]
        trade = uow.trades.open_for(strategy_id)[0]
        trade.close(at=T0 + timedelta(hours=2), price=1920.0, reason=ExitReason.TAKE_PROFIT,
                    fee=0.26, order_id="s1-0003")  # fmt: skip
        uow.trades.save(trade)
        uow.commit()
    with new_uow() as uow:
        stored = uow.trades.for_strategy(strategy_id)
        assert [t.id for t in uow.trades.open_for(strategy_id)] == [later.id]
    assert stored == [trade, later]
    assert trade.pnl == pytest.approx(0.3 * 80.0 - 0.53)
    assert trade.return_on_margin == pytest.approx(trade.pnl / (0.3 * 2000.0 / 1.5))


def test_leaving_without_commit_keeps_no_trading_record(new_uow, strategy_id):  # noqa: F811
    with new_uow() as uow:
        uow.subaccounts.add(Subaccount(1, T0))
        uow.orders.add(order(1, strategy_id))
    with new_uow() as uow:
        assert uow.subaccounts.all() == [] and uow.orders.unsettled(1) == []
