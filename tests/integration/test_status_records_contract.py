"""One contract for what ``sixbtc status`` reads beyond the strategies (services' heartbeats,
claims held), run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from tests.integration.test_repository_contract import (  # noqa: F401 (the fixture)
    T0,
    UowFactory,
    make_strategy,
    new_uow,
    store,
)

from sixbtc.application.ports import HeldClaim
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.strategy import Status


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
