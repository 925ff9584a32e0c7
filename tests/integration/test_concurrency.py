"""Claims and pool admission under real concurrency: separate processes on one database."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import threading
import time
import traceback
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.adapters.sqlalchemy.tables import strategies, strategy_events
from sixbtc.application import pool
from sixbtc.application.errors import ConcurrentChange, DuplicateStrategy
from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.strategy import Status, Strategy, code_hash
from sixbtc.domain.timeframe import Timeframe

WORKERS = 8
LEASE = timedelta(minutes=5)
FORK = multiprocessing.get_context("fork")
ADMITTED_AT = datetime(2024, 6, 1, tzinfo=UTC)


def report(results, function, *args) -> None:
    """Run ``function(*args)`` in a child process and put its result (or its error) on
    ``results``, so that a failing worker fails the test at once instead of leaving it waiting."""
    try:
        results.put(("ok", function(*args)))
    except BaseException:
        results.put(("error", traceback.format_exc()))


def start(target, *args, results):
    process = FORK.Process(target=report, args=(results, target, *args))
    process.start()
    return process


def collect(results, count: int, timeout: float = 120) -> list:
    outcomes = [results.get(timeout=timeout) for _ in range(count)]
    errors = [detail for status, detail in outcomes if status == "error"]
    assert not errors, "\n".join(errors)
    return [value for _, value in outcomes]


def seed(url: str, count: int, status: Status) -> list[uuid.UUID]:
    """Store ``count`` strategies in ``status``, created one second apart."""
    migrations.upgrade(url)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    ids = [uuid.UUID(int=random.Random(n).getrandbits(128)) for n in range(count)]
    rows = [
        {
            "id": sid, "name": f"s{n}", "strategy_type": "MOM", "status": status.value,
            "code": f"code {n}", "code_hash": code_hash(f"code {n}"), "parameters": {},
            "created_at": start + timedelta(seconds=n),
        }
        for n, sid in enumerate(ids)
    ]  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(strategies.insert(), rows)
    engine.dispose()
    return ids


def validate_claimed(url: str, owner: str, batch: int, go=None) -> list[uuid.UUID]:
    """Claim GENERATED strategies in batches and validate each, until none is left (starting
    when ``go`` is set, if given)."""
    engine = create_engine(url)
    done = []
    if go is not None:
        go.wait(timeout=60)
    while True:
        with SqlAlchemyUnitOfWork(engine) as uow:
            now = datetime.now(UTC)
            claimed = [s.id for s in uow.claims.claim(Status.GENERATED, batch, owner, now, LEASE)]
            uow.commit()
        if not claimed:
            break
        time.sleep(0.005)  # the work, done outside any transaction, as real workers do
        with SqlAlchemyUnitOfWork(engine) as uow:
            for sid in claimed:
                uow.strategies.get(sid).validate(at=now)
                uow.claims.release(sid, owner)
            uow.commit()
        done.extend(claimed)
    engine.dispose()
    return done


def events_per_strategy(url: str) -> Counter:
    engine = create_engine(url)
    with engine.connect() as connection:
        counted = Counter(connection.execute(sa.select(strategy_events.c.strategy_id)).scalars())
    engine.dispose()
    return counted


def claim_concurrently(url: str, strategies_count: int, workers: int) -> None:
    """``workers`` processes claim ``strategies_count`` strategies: each is validated once."""
    ids = seed(url, strategies_count, Status.GENERATED)
    results, go = FORK.Queue(), FORK.Event()
    processes = [
        start(validate_claimed, url, f"w{n}", 10, go, results=results) for n in range(workers)
    ]
    time.sleep(0.3)  # every worker is waiting: they all start together
    go.set()
    outcomes = collect(results, workers)
    for worker in processes:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    processed = [sid for done in outcomes for sid in done]
    assert Counter(processed) == Counter(ids)
    assert sum(1 for done in outcomes if done) > 1  # the work was actually shared
    assert events_per_strategy(url) == Counter(ids)


@pytest.mark.postgres
def test_eight_processes_claim_two_thousand_strategies_each_exactly_once(postgres_url: str):
    claim_concurrently(postgres_url, 2000, WORKERS)


def test_processes_claiming_from_one_sqlite_file_process_each_strategy_once(sqlite_url: str):
    claim_concurrently(sqlite_url, 400, 4)


def admit_claimed(url: str, owner: str, scores: dict[uuid.UUID, float], rules, ready) -> int:
    """Once every worker is ready, claim VALIDATED candidates and let the pool admit or retire
    each one."""
    engine = create_engine(url)
    count = 0
    ready.wait(timeout=60)
    while True:
        with SqlAlchemyUnitOfWork(engine) as uow:
            now = datetime.now(UTC)
            claimed = [s.id for s in uow.claims.claim(Status.VALIDATED, 5, owner, now, LEASE)]
            uow.commit()
        if not claimed:
            break
        time.sleep(0.001)  # the backtest, done outside any transaction, as real workers do
        with SqlAlchemyUnitOfWork(engine) as uow:
            for sid in claimed:
                candidate = uow.strategies.get(sid)
                pool.admit(
                    uow, rules, candidate, scores[sid], at=ADMITTED_AT, timeframe=Timeframe.H1,
                    execution=ExecutionParameters(0.02, 0.04, 1.0, 24),
                )  # fmt: skip
                uow.claims.release(sid, owner)
            uow.commit()
        count += len(claimed)
    engine.dispose()
    return count


def sample_pool_size(url: str, stop) -> tuple[int, int]:
    """Count ACTIVE strategies over and over until told to stop; report the largest count."""
    engine = sa.create_engine(url)
    largest, samples = 0, 0
    with engine.connect() as connection:
        while not stop.is_set():
            count = connection.execute(
                sa.select(sa.func.count()).where(strategies.c.status == "ACTIVE")
            ).scalar_one()
            connection.rollback()
            time.sleep(0.005)
            largest, samples = max(largest, count), samples + 1
    engine.dispose()
    return largest, samples


def admit_concurrently(url: str, candidates: int, size: int, workers: int) -> None:
    """``workers`` processes admit ``candidates`` scored candidates into a pool of ``size`` while a
    checker samples the pool's size: it never exceeds ``size``, and the best scores end in it."""
    rules = pool.PoolRules(max_size=size, min_score_entry=15)
    ids = seed(url, candidates, Status.VALIDATED)
    draw = random.Random(11)
    scores = {sid: float(draw.randint(0, 60)) for sid in ids}  # many ties at every score
    results, stop, sampled = FORK.Queue(), FORK.Event(), FORK.Queue()
    ready = FORK.Barrier(workers)  # all start together, so that the work is shared
    sampler = start(sample_pool_size, url, stop, results=sampled)
    processes = [
        start(admit_claimed, url, f"w{n}", scores, rules, ready, results=results)
        for n in range(workers)
    ]
    try:
        counts = collect(results, workers, timeout=180)
    finally:
        stop.set()
    [(largest, samples)] = collect(sampled, 1)
    for process in (*processes, sampler):
        process.join(timeout=30)
        assert process.exitcode == 0
    assert sum(counts) == candidates
    assert sum(1 for count in counts if count) > 1  # the work was actually shared
    assert samples > 10 and largest <= size

    # The pool keeps the best scores. A candidate equal to the pool minimum is refused
    # (pool_full), so among equal scores at the boundary, arrival order decides who stays.
    eligible = sorted((score for score in scores.values() if score >= 15), reverse=True)
    boundary = eligible[size - 1]
    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            sa.select(strategies.c.id, strategies.c.status, strategies.c.retired_reason)
        ).all()
    engine.dispose()
    active = {sid for sid, status, _ in rows if status == "ACTIVE"}
    assert sorted((scores[sid] for sid in active), reverse=True) == eligible[:size]
    assert {sid for sid, score in scores.items() if score > boundary} <= active
    for sid, status, reason in rows:
        if sid in active:
            continue
        assert status == "RETIRED"
        expected = {"below_entry"} if scores[sid] < 15 else {"pool_full", "evicted"}
        assert reason.split(":")[0] in expected, (scores[sid], reason)
        assert scores[sid] <= boundary


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_processes_admit_five_thousand_candidates_into_a_pool_of_300(postgres_url: str):
    admit_concurrently(postgres_url, 5000, 300, WORKERS)


@pytest.mark.postgres
def test_eight_processes_admit_a_thousand_candidates_into_a_pool_of_60(postgres_url: str):
    """The same race at a size the default test run affords (the pool lock serialises)."""
    admit_concurrently(postgres_url, 1000, 60, WORKERS)


def test_processes_admitting_into_a_pool_on_one_sqlite_file_never_overfill_it(sqlite_url: str):
    admit_concurrently(sqlite_url, 600, 40, 4)


def claim_and_hang(url: str, owner: str, lease: timedelta, commit: bool, results) -> None:
    """Claim 20 GENERATED strategies (committed, or in a transaction left open), report them,
    then hang until killed."""
    engine = create_engine(url)
    with SqlAlchemyUnitOfWork(engine) as uow:
        claimed = uow.claims.claim(Status.GENERATED, 20, owner, datetime.now(UTC), lease)
        if commit:
            uow.commit()
        results.put([s.id for s in claimed])
        time.sleep(600)


def kill_while_holding_claims(url: str, lease: timedelta, commit: bool) -> list[uuid.UUID]:
    """Start a worker that claims 20 strategies, SIGKILL it, and return what it held."""
    results = FORK.Queue()
    doomed = FORK.Process(target=claim_and_hang, args=(url, "doomed", lease, commit, results))
    doomed.start()
    held = results.get(timeout=60)
    os.kill(doomed.pid, signal.SIGKILL)
    doomed.join(timeout=30)
    assert doomed.exitcode == -signal.SIGKILL and len(held) == 20
    return held


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


def test_claims_of_a_killed_worker_are_taken_over_after_their_lease(url: str):
    ids = seed(url, 40, Status.GENERATED)
    lease = timedelta(seconds=2)
    claimed_before = datetime.now(UTC)
    held = kill_while_holding_claims(url, lease, commit=True)

    early = validate_claimed(url, "early", 100)
    assert set(early) == set(ids) - set(held)  # the dead worker's lease still holds

    time.sleep(max(0.0, (claimed_before + lease - datetime.now(UTC)).total_seconds()) + 0.2)
    rescued = validate_claimed(url, "rescuer", 100)
    assert sorted(rescued) == sorted(held)
    assert events_per_strategy(url) == Counter(ids)


def test_a_worker_killed_inside_its_claim_transaction_holds_nothing(url: str):
    """Killed before committing: its locks (PostgreSQL rows, SQLite's write lock) go with it and
    the next worker takes every strategy at once, without waiting for a lease."""
    ids = seed(url, 40, Status.GENERATED)
    held = kill_while_holding_claims(url, timedelta(hours=1), commit=False)
    assert set(held) < set(ids)
    assert Counter(validate_claimed(url, "next", 100)) == Counter(ids)
    assert events_per_strategy(url) == Counter(ids)


@pytest.mark.postgres
def test_a_claim_skips_rows_another_open_claim_holds_without_waiting(postgres_url: str):
    """FOR UPDATE SKIP LOCKED: a claimer neither waits for nor takes rows that a concurrent,
    not yet committed claim has locked."""
    ids = seed(postgres_url, 6, Status.GENERATED)
    engine = create_engine(postgres_url)
    now = datetime.now(UTC)
    with SqlAlchemyUnitOfWork(engine) as holder, SqlAlchemyUnitOfWork(engine) as other:
        first = holder.claims.claim(Status.GENERATED, 3, "holder", now, LEASE)
        other.connection.execute(sa.text("SET LOCAL lock_timeout = '1s'"))
        second = other.claims.claim(Status.GENERATED, 10, "other", now, LEASE)
    engine.dispose()
    assert [s.id for s in first] == ids[:3]
    assert [s.id for s in second] == ids[3:]


@pytest.mark.postgres
def test_a_stale_status_change_is_refused(postgres_url: str) -> None:
    [sid] = seed(postgres_url, 1, Status.GENERATED)
    engine = create_engine(postgres_url)
    at = datetime.now(UTC)
    with SqlAlchemyUnitOfWork(engine) as slow, SqlAlchemyUnitOfWork(engine) as fast:
        stale = slow.strategies.get(sid)
        fast.strategies.get(sid).validate(at=at)
        fast.commit()
        stale.retire("syntax_error: late verdict", at=at, service="validator")
        with pytest.raises(ConcurrentChange, match="no longer GENERATED"):
            slow.commit()
    with SqlAlchemyUnitOfWork(engine) as uow:
        assert uow.strategies.get(sid).status is Status.VALIDATED
        assert len(uow.strategies.events(sid)) == 1
    engine.dispose()


@pytest.mark.postgres
def test_the_loser_of_a_race_to_add_the_same_code_gets_a_duplicate(postgres_url: str) -> None:
    migrations.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    created = datetime.now(UTC)
    first = Strategy(name="first", code="x = 1", strategy_type="MOM", created_at=created)
    second = Strategy(name="second", code="x = 1\n", strategy_type="MOM", created_at=created)
    outcome: list[BaseException | None] = []

    def add_second() -> None:
        with SqlAlchemyUnitOfWork(engine) as uow:
            try:
                uow.strategies.add(second)  # waits on the unique index for the first commit
                uow.commit()
                outcome.append(None)
            except DuplicateStrategy as error:
                assert uow.strategies.count(Status.GENERATED) == 1  # the unit of work goes on
                outcome.append(error)

    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.strategies.add(first)
        racer = threading.Thread(target=add_second)
        racer.start()
        time.sleep(0.3)
        uow.commit()
    racer.join(timeout=30)
    assert len(outcome) == 1 and isinstance(outcome[0], DuplicateStrategy)
    engine.dispose()


@pytest.mark.postgres
def test_the_pool_lock_waits_for_the_holder_until_it_commits(postgres_url: str) -> None:
    migrations.upgrade(postgres_url)
    engine = create_engine(postgres_url)
    with SqlAlchemyUnitOfWork(engine) as holder, SqlAlchemyUnitOfWork(engine) as other:
        holder.lock_pool()
        other.connection.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
        with pytest.raises(sa.exc.OperationalError, match="lock timeout"):
            other.lock_pool()
        other.rollback()
        holder.commit()
        other.connection.execute(sa.text("SET LOCAL lock_timeout = '200ms'"))
        other.lock_pool()
    engine.dispose()
