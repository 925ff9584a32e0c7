"""A service's heartbeat: written on the first tick, then at most every ``every`` of wall time,
at once after a failed tick, and never failing the tick when the database is away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.errors import DatabaseUnavailable
from sixbtc.application.heartbeat import HeartbeatRecorder

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def recorder(store: InMemoryStore, clock: ManualClock, unit_of_work=None) -> HeartbeatRecorder:
    return HeartbeatRecorder(
        unit_of_work or (lambda: InMemoryUnitOfWork(store)),
        clock,
        "backtester",
        "host:7",
        every=timedelta(seconds=10),
    )


def stored(store: InMemoryStore):
    with InMemoryUnitOfWork(store) as uow:
        (heartbeat,) = uow.heartbeats.all()
    return heartbeat


def test_the_first_tick_is_written_then_at_most_every_interval_and_errors_at_once():
    store, clock = InMemoryStore(), ManualClock(T0)
    beats = recorder(store, clock)
    beats.ticked("validated-1")
    assert stored(store).ticks == 1 and stored(store).started_at == T0
    clock.advance(timedelta(seconds=4))
    beats.ticked("validated-1")
    assert stored(store).ticks == 1  # not yet due
    clock.advance(timedelta(seconds=1))
    beats.ticked("retest-1", RuntimeError("sandbox worker died"))
    failed = stored(store)
    assert (failed.ticks, failed.failures, failed.beat_at) == (3, 1, T0 + timedelta(seconds=5))
    assert failed.last_error == "retest-1: RuntimeError: sandbox worker died"
    clock.advance(timedelta(seconds=10))
    beats.ticked("validated-1")
    recovered = stored(store)
    assert recovered.ticks == 4 and recovered.last_error == failed.last_error  # error kept
    assert recovered.last_error_at < recovered.beat_at


def test_a_database_that_is_away_never_fails_the_tick(caplog):
    store, clock = InMemoryStore(), ManualClock(T0)

    def away():
        raise DatabaseUnavailable("database unavailable: connection refused")

    beats = recorder(store, clock, unit_of_work=away)
    beats.ticked("monitor")  # logged, not raised
    assert "heartbeat not recorded: database unavailable" in caplog.text


def test_a_clean_stop_is_recorded():
    store, clock = InMemoryStore(), ManualClock(T0)
    beats = recorder(store, clock)
    beats.stopped()  # never ticked: nothing to say
    with InMemoryUnitOfWork(store) as uow:
        assert uow.heartbeats.all() == []
    beats.ticked("rotator")
    clock.advance(timedelta(seconds=3))
    beats.stopped()
    assert stored(store).stopped_at == T0 + timedelta(seconds=3)
