"""One contract for what the inspection commands read (services' heartbeats, claims held, strategy
searches), run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import attrs
from tests.integration.test_repository_contract import (  # noqa: F401 (the fixture)
    T0,
    UowFactory,
    make_active,
    make_strategy,
    new_uow,
    store,
)

from sixbtc.application.ports import HeldClaim, StrategyFilter
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe


def test_a_heartbeat_row_per_process_is_replaced_by_the_next(new_uow: UowFactory):  # noqa: F811
    first = Heartbeat("backtester", "host:2", T0, T0)
    other = Heartbeat("backtester", "host:1", T0, T0 + timedelta(seconds=5), ticks=3)
    with new_uow() as uow:
        uow.heartbeats.record(first)
        uow.heartbeats.record(other)
        uow.commit()
    later = first.ticked(T0 + timedelta(seconds=30), "tick: DatabaseUnavailable: gone")
    with new_uow() as uow:
        uow.heartbeats.record(later)
        uow.commit()
    with new_uow() as uow:
        uow.heartbeats.record(Heartbeat("rotator", "host:3", T0, T0))  # not committed
    with new_uow() as uow:
        assert uow.heartbeats.all() == [other, later]
    assert later.failures == 1 and later.last_error_at == later.beat_at


def test_held_claims_are_the_leases_still_running(new_uow: UowFactory):  # noqa: F811
    longest, shorter, expired = (make_strategy(n) for n in (1, 2, 3))
    for strategy in (longest, shorter, expired):
        strategy.validate(at=T0)
        store(new_uow, strategy)
    with new_uow() as uow:
        uow.claims.claim(Status.VALIDATED, 1, "w:1:a", T0, timedelta(minutes=10))
        uow.claims.claim(Status.VALIDATED, 1, "w:1:b", T0, timedelta(minutes=5))
        uow.claims.claim(Status.VALIDATED, 1, "w:2:a", T0, timedelta(minutes=1))
        uow.commit()
    with new_uow() as uow:
        held = uow.claims.held(T0 + timedelta(minutes=2))
    assert held == [
        HeldClaim(shorter.name, Status.VALIDATED, "w:1:b", T0 + timedelta(minutes=5)),
        HeldClaim(longest.name, Status.VALIDATED, "w:1:a", T0 + timedelta(minutes=10)),
    ]


def test_a_search_filters_on_every_field_and_ranks_by_score(new_uow: UowFactory):  # noqa: F811
    best, second = make_active(1, 70.0, T0), make_active(2, 40.0, T0)
    unscored = make_strategy(3)
    pool_full = make_strategy(4)
    pool_full.validate(at=T0)
    pool_full.retire(Reason(Code.POOL_FULL, "score 12 < 15"), at=T0, service="backtester")
    other_type = attrs.evolve(make_strategy(5), strategy_type="REV")
    lookalike = make_strategy(6)  # "pool_full" with its "_" as any character, in LIKE
    lookalike.validate(at=T0)
    lookalike.retire(Reason.parse("poolXfull: by hand"), at=T0, service="someone")
    store(new_uow, second, unscored, best, pool_full, other_type, lookalike)
    with new_uow() as uow:
        everything = [s.name for s in uow.strategies.search(StrategyFilter())]
        active = uow.strategies.search(StrategyFilter(statuses=frozenset({Status.ACTIVE})))
        top = uow.strategies.search(StrategyFilter(limit=1))
        by_reason = uow.strategies.search(StrategyFilter(reasons=frozenset({Code.POOL_FULL})))
        by_type = uow.strategies.search(StrategyFilter(types=frozenset({"REV"})))
        hourly = uow.strategies.search(StrategyFilter(timeframes=frozenset({Timeframe.H1})))
        named = uow.strategies.named(second.name)
        missing = uow.strategies.named("nobody")
    assert everything[:2] == [best.name, second.name]  # scored first, best first
    everyone = (best, second, unscored, pool_full, other_type, lookalike)
    assert set(everything) == {s.name for s in everyone}
    assert [s.name for s in active] == [best.name, second.name]
    assert [s.name for s in top] == [best.name]
    assert [s.name for s in by_reason] == [pool_full.name]
    assert [s.name for s in by_type] == [other_type.name]
    assert {s.name for s in hourly} == {best.name, second.name}
    assert named == second and missing is None
