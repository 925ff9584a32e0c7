from datetime import timedelta

import pytest
from tests.factories import T0, make_strategy

from sixbtc.adapters.memory import InMemoryUnitOfWork
from sixbtc.application import pool
from sixbtc.application.pool import PoolRules
from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe

RULES = PoolRules(max_size=3, min_score_entry=15.0)

EXECUTION = ExecutionParameters(0.02, 0.04, 1.0, 24)


@pytest.fixture
def uow():
    return InMemoryUnitOfWork()


def seed(uow, *strategies):
    with uow:
        for s in strategies:
            uow.strategies.add(s)
        uow.commit()


def admit(uow, strategy_id, score, at=T0):
    with uow:
        strategy = uow.strategies.get(strategy_id)
        decisions = pool.admit(
            uow, RULES, strategy, score, at=at, timeframe=Timeframe.H4, execution=EXECUTION
        )
        uow.commit()
    return decisions


def status_of(uow, strategy_id):
    with uow:
        s = uow.strategies.get(strategy_id)
        return s.status, s.retired_reason


def test_validated_strategy_enters_a_pool_with_room(uow):
    s = make_strategy(Status.VALIDATED)
    seed(uow, s)
    admit(uow, s.id, 42.0)
    with uow:
        stored = uow.strategies.get(s.id)
        assert stored.status is Status.ACTIVE
        assert stored.score_backtest == 42.0
        assert stored.timeframe is Timeframe.H4
        assert stored.execution == EXECUTION
        assert stored.last_backtested_at == T0
        events = uow.strategies.events(s.id)
    assert [(e.from_status, e.to_status) for e in events] == [(Status.VALIDATED, Status.ACTIVE)]


def test_score_below_entry_retires_the_candidate(uow):
    s = make_strategy(Status.VALIDATED)
    seed(uow, s)
    admit(uow, s.id, 14.999)
    status, reason = status_of(uow, s.id)
    assert status is Status.RETIRED and reason.startswith("below_entry")


def test_full_pool_evicts_lowest_score(uow):
    members = [make_strategy(Status.ACTIVE, score=v) for v in (20.0, 30.0, 40.0)]
    newcomer = make_strategy(Status.VALIDATED)
    seed(uow, *members, newcomer)
    admit(uow, newcomer.id, 25.0, at=T0 + timedelta(hours=1))
    assert status_of(uow, members[0].id)[0] is Status.RETIRED
    assert status_of(uow, members[0].id)[1].startswith("evicted")
    assert status_of(uow, newcomer.id)[0] is Status.ACTIVE
    with uow:
        assert uow.strategies.count(Status.ACTIVE) == 3


def test_full_pool_rejects_a_candidate_equal_to_the_minimum(uow):
    members = [make_strategy(Status.ACTIVE, score=v) for v in (20.0, 30.0, 40.0)]
    newcomer = make_strategy(Status.VALIDATED)
    seed(uow, *members, newcomer)
    admit(uow, newcomer.id, 20.0)
    status, reason = status_of(uow, newcomer.id)
    assert status is Status.RETIRED and reason.startswith("pool_full")
    assert status_of(uow, members[0].id)[0] is Status.ACTIVE


def test_nothing_changes_without_commit(uow):
    s = make_strategy(Status.VALIDATED)
    seed(uow, s)
    with uow:
        strategy = uow.strategies.get(s.id)
        pool.admit(uow, RULES, strategy, 50.0, at=T0, timeframe=Timeframe.H1, execution=EXECUTION)
    assert status_of(uow, s.id) == (Status.VALIDATED, None)
    with uow:
        assert uow.strategies.events(s.id) == []


def test_rescore_keeps_updates_or_retires(uow):
    members = [make_strategy(Status.ACTIVE, score=v) for v in (20.0, 30.0, 40.0)]
    seed(uow, *members)
    later = T0 + timedelta(days=3)
    with uow:
        kept = pool.rescore(uow, RULES, uow.strategies.get(members[2].id), 35.0, at=later)
        dropped = pool.rescore(uow, RULES, uow.strategies.get(members[1].id), 19.0, at=later)
        uow.commit()
    assert str(kept.action) == "keep"
    assert dropped.reason_code == "retest_below_pool_min"
    with uow:
        stored = uow.strategies.get(members[2].id)
        assert (stored.score_backtest, stored.last_backtested_at) == (35.0, later)
        assert [e.to_status for e in uow.strategies.events(stored.id)] == [Status.ACTIVE]


def test_maintenance_trims_an_over_capacity_pool(uow):
    members = [make_strategy(Status.ACTIVE, score=v) for v in (16.0, 50.0, 30.0, 20.0, 10.0)]
    unscored = make_strategy(Status.ACTIVE)
    seed(uow, *members, unscored)
    with uow:
        decisions = pool.maintain(uow, RULES, at=T0)
        uow.commit()
    assert {d.reason_code for d in decisions} == {"below_entry", "pool_trim"}
    with uow:
        active = {s.id for s in uow.strategies.by_status(Status.ACTIVE)}
    # 10 is below entry; then 6 members -> 3 by trimming the lowest scored (16, 20); unscored stays
    assert active == {members[1].id, members[2].id, unscored.id}


def test_a_full_migrated_pool_admits_by_evicting_its_worst_scored_member(uow):
    # a pool right after the upgrade: one member without a score, over capacity
    unscored = make_strategy(Status.ACTIVE)
    members = [make_strategy(Status.ACTIVE, score=v) for v in (20.0, 30.0, 40.0)]
    newcomer = make_strategy(Status.VALIDATED)
    seed(uow, unscored, *members, newcomer)
    decisions = admit(uow, newcomer.id, 35.0, at=T0 + timedelta(hours=1))
    assert [(d.strategy_id, d.reason_code) for d in decisions] == [
        (members[0].id, "pool_trim"),
        (members[1].id, "evicted"),
        (newcomer.id, ""),
    ]
    with uow:
        active = {s.id for s in uow.strategies.by_status(Status.ACTIVE)}
    assert active == {unscored.id, members[2].id, newcomer.id}
