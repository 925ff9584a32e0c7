"""The rotator deploys the selection to funded subaccounts (and nothing when the exchange refuses
or another rotator won); the scorer and the monitor score LIVE strategies from their trades and
the monitor retires by each criterion of spec section 6."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from tests.factories import T0, make_strategy

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.paper import PaperExchange
from sixbtc.application.errors import ExchangeError
from sixbtc.application.live import LiveReview
from sixbtc.application.rotator import Rotator
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.orders import client_order_id as derived_id
from sixbtc.domain.position import Direction, ExitReason
from sixbtc.domain.reasons import Code
from sixbtc.domain.retirement import RetirementPolicy
from sixbtc.domain.scoring import ScoringPolicy
from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.strategy import Status
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.timeframe import Timeframe
from sixbtc.domain.trade import Trade

SELECTION = LiveSelection(max_live=4, min_score=50.0, max_per_type=2, max_per_timeframe=2)


def active(store, score: float, strategy_type: str = "MOM", timeframe=Timeframe.H1):
    strategy = make_strategy(
        Status.ACTIVE, score=score, strategy_type=strategy_type, timeframe=timeframe
    )
    strategy.execution = ExecutionParameters(0.02, 0.03, 2.0, 12)
    strategy.coins = ("BTC", "ETH")
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(strategy)
        uow.commit()
    return strategy


def statuses(store):
    with InMemoryUnitOfWork(store) as uow:
        return {s.name: s.status for s in uow.strategies.by_status(Status.LIVE)}, {
            a.id: a for a in uow.subaccounts.all()
        }


def test_the_rotator_fills_free_slots_best_first_within_the_limits_with_even_capital():
    store, clock = InMemoryStore(), ManualClock(T0)
    exchange = PaperExchange(Costs(), initial_capital=1000.0)
    best = active(store, 90, "MOM")
    second = active(store, 80, "MOM")
    third_mom = active(store, 85, "MOM")  # a third MOM would break max_per_type
    rev = active(store, 60, "REV", Timeframe.H4)
    low = active(store, 40, "TRN")  # below min_score_live
    rotator = Rotator(lambda: InMemoryUnitOfWork(store), exchange, clock, SELECTION)
    done = rotator.run()
    assert [d.name for d in done] == [best.name, third_mom.name, rev.name]
    assert [d.subaccount for d in done] == [1, 2, 3]
    assert all(d.capital == 250.0 for d in done)  # 1000 over the 4 free slots
    live, accounts = statuses(store)
    assert set(live) == {best.name, third_mom.name, rev.name}
    assert {accounts[n].strategy_id for n in (1, 2, 3)} == {best.id, third_mom.id, rev.id}
    assert [exchange.equity(n) for n in (1, 2, 3)] == [250.0] * 3
    assert exchange.main_balance() == 250.0
    with InMemoryUnitOfWork(store) as uow:
        event = uow.strategies.events(best.id)[-1]
    assert (event.to_status, event.reason.code) == (Status.LIVE, Code.DEPLOYED)
    assert "subaccount 1, capital 250.00" in event.reason
    assert rotator.run() == []  # one slot left, but second and low may not take it
    assert second.name not in statuses(store)[0] and low.name not in statuses(store)[0]


def test_a_refused_transfer_leaves_the_strategy_active_and_the_subaccount_free():
    store, clock = InMemoryStore(), ManualClock(T0)
    exchange = PaperExchange(Costs(), initial_capital=1000.0)
    strategy = active(store, 90)

    class Refusing(PaperExchange):
        def transfer(self, subaccount, amount, transfer_id):
            raise ExchangeError("insufficient margin on the main account")

    refusing = Refusing(Costs(), initial_capital=1000.0)
    assert Rotator(lambda: InMemoryUnitOfWork(store), refusing, clock, SELECTION).run() == []
    live, accounts = statuses(store)
    assert live == {} and all(a.is_free for a in accounts.values())  # created, then freed
    assert len(Rotator(lambda: InMemoryUnitOfWork(store), exchange, clock, SELECTION).run()) == 1
    assert statuses(store)[0] == {strategy.name: Status.LIVE}


def test_two_rotators_at_once_never_overfill_break_limits_nor_deploy_twice():
    store, clock = InMemoryStore(), ManualClock(T0)
    exchange = PaperExchange(Costs(), initial_capital=1000.0)
    first = active(store, 90, "MOM")
    for score in (85, 80, 70):
        active(store, score, "MOM")
    for score in (75, 65, 60):
        active(store, score, "REV", Timeframe.H4)

    def rotator():
        return Rotator(lambda: InMemoryUnitOfWork(store), exchange, clock, SELECTION)

    a, b = rotator(), rotator()
    reserved = a._reserve(first.id, 250.0)  # A reserved and then paused (or crashed)
    assert reserved == 1 and a._reserve(first.id, 250.0) is None  # never twice
    done_by_b = b.run()  # B completes A's deployment and fills the rest within the limits
    assert first.id in {d.strategy_id for d in done_by_b}
    assert a._complete(first.id, reserved) is None  # already LIVE: nothing more
    live, accounts = statuses(store)
    with InMemoryUnitOfWork(store) as uow:
        deployed = uow.strategies.by_status(Status.LIVE)
    assert len(live) == 4 == SELECTION.max_live
    assert max(Counter(s.strategy_type for s in deployed).values()) <= 2
    assert max(Counter(s.timeframe for s in deployed).values()) <= 2
    holders = [acc.strategy_id for acc in accounts.values() if acc.strategy_id]
    assert len(holders) == len(set(holders)) == 4
    assert sorted(exchange.equity(n) for n in accounts) == [250.0] * 4
    assert exchange.main_balance() == 0.0
    assert rotator().run() == []


def test_an_interrupted_deployment_is_completed_by_the_next_check_and_the_executor_waits():
    store, clock = InMemoryStore(), ManualClock(T0)
    exchange = PaperExchange(Costs(), initial_capital=1000.0)
    strategy = active(store, 90)
    rotator = Rotator(lambda: InMemoryUnitOfWork(store), exchange, clock, SELECTION)
    number = rotator._reserve(strategy.id, 250.0)
    exchange.transfer(number, 250.0, derived_id(strategy.id, number, "fund"))  # then a crash
    assert statuses(store)[0] == {}
    (done,) = rotator.run()
    assert (done.strategy_id, done.subaccount) == (strategy.id, number)
    assert exchange.equity(number) == 250.0 and exchange.main_balance() == 750.0  # funded once


def live_strategy(store, clock, trades_returns, score_backtest=80.0, balances=(1000.0, 1000.0)):
    strategy = make_strategy(Status.LIVE, score=score_backtest)
    strategy.live_since = T0
    strategy.execution = ExecutionParameters(0.02, 0.03, 1.0, 12)
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(strategy)
        account = Subaccount(1, T0)
        account.assign(strategy.id, 1000.0)
        account.record_balance(balances[0])
        account.record_balance(balances[1])
        uow.subaccounts.add(account)
        for n, r in enumerate(trades_returns):
            trade = Trade(
                strategy.id,
                1,
                "BTC",
                Direction.LONG,
                T0 + timedelta(hours=2 * n),
                100.0,
                1.0,
                1.0,
                f"e{n}",
            )
            trade.close(
                at=T0 + timedelta(hours=2 * n + 1),
                price=100.0 * (1 + r),
                reason=ExitReason.SIGNAL,
                fee=0.0,
                order_id=f"x{n}",
            )
            uow.trades.add(trade)
        uow.commit()
    clock.set(T0 + timedelta(hours=2 * len(trades_returns) + 1))
    return strategy


def review(store, clock, policy: RetirementPolicy):
    return LiveReview(lambda: InMemoryUnitOfWork(store), clock, ScoringPolicy(), policy)


WINNING = [0.03, -0.01, 0.02, 0.04, -0.005, 0.03, 0.02, -0.01, 0.03, 0.02, 0.01]
LOSING = [-0.02, 0.005, -0.03, -0.01, -0.02, 0.01, -0.02, -0.03, -0.01, -0.02, -0.01]


@pytest.mark.parametrize(
    "returns, balances, policy, code",
    [
        (LOSING, (1000.0, 980.0), RetirementPolicy(), Code.LIVE_SCORE),
        (
            WINNING,
            (1000.0, 1010.0),
            RetirementPolicy(min_score=0, max_degradation=0.01),
            Code.DEGRADATION,
        ),
        (WINNING[:2], (1000.0, 650.0), RetirementPolicy(), Code.DRAWDOWN),
        (WINNING, (1000.0, 1010.0), RetirementPolicy(), None),
        (LOSING[:5], (1000.0, 990.0), RetirementPolicy(), None),  # too few trades to judge
    ],
)
def test_the_monitor_retires_by_each_criterion_and_the_scorer_only_scores(
    returns, balances, policy, code
):
    store, clock = InMemoryStore(), ManualClock(T0)
    strategy = live_strategy(store, clock, returns, balances=balances)
    (scored,) = review(store, clock, policy).run(retire=False)
    assert scored.retired is None and scored.metrics.trades == len(returns)
    with InMemoryUnitOfWork(store) as uow:
        assert uow.strategies.get(strategy.id).status is Status.LIVE
        assert uow.strategies.get(strategy.id).score_live == scored.record.score_live
    (verdict,) = review(store, clock, policy).run(retire=True)
    with InMemoryUnitOfWork(store) as uow:
        after = uow.strategies.get(strategy.id)
    if code is None:
        assert verdict.retired is None and after.status is Status.LIVE
    else:
        assert verdict.retired.code is code and after.status is Status.RETIRED
        assert after.retired_reason.code is code
        assert uow.strategies.events(strategy.id)[-1].service == "monitor"
