"""``sixbtc status``'s read model on in-memory adapters: a free subaccount shows no figures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import make_strategy

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.status import Slot, StatusQuery
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.strategy import Status
from sixbtc.domain.subaccount import Subaccount

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_slots_show_the_held_strategy_s_figures_and_nothing_for_a_free_one():
    store = InMemoryStore()
    live = make_strategy(Status.LIVE, score=60.0)
    held, freed = Subaccount(1, T0), Subaccount(2, T0)
    held.assign(live.id, 100.0)
    freed.assign(make_strategy(Status.RETIRED).id, 100.0)
    freed.record_balance(97.5)
    freed.release()
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(live)
        uow.subaccounts.add(held)
        uow.subaccounts.add(freed)
        uow.commit()
    clock = ManualClock(T0 + timedelta(days=1))
    status = StatusQuery(
        lambda: InMemoryUnitOfWork(store),
        clock,
        clock,
        RetestSchedule(),
        LiveSelection(max_live=10, min_score=50.0, max_per_type=3, max_per_timeframe=3),
        pool_size=300,
        queue_limits={Status.GENERATED: 500},
    )()
    assert status.slots == [
        Slot(1, live.name, Status.LIVE, 100.0, 100.0, 100.0),
        Slot(2, None, None, None, None, None),
    ]
    assert status.live == 1 and status.max_live == 10
