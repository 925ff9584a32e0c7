"""One contract for the repositories and the unit of work, run on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import attrs
import pytest

from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine
from sixbtc.application import pool
from sixbtc.application.errors import DuplicateStrategy, NotFound
from sixbtc.application.ports import UnitOfWork
from sixbtc.domain.backtest import BacktestResult, ExecutionParameters, RunKind, Window
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.retry import RetryPolicy
from sixbtc.domain.sensitivity import Band, Neighbourhood, Robustness, TradeBands
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=10)
EXECUTION = ExecutionParameters(0.02, 0.04, 1.0, 24)

UowFactory = Callable[[], UnitOfWork]


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
def new_uow(request: pytest.FixtureRequest) -> Iterator[UowFactory]:
    if request.param == "memory":
        store = InMemoryStore()
        yield lambda: InMemoryUnitOfWork(store)
        return
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    engine = create_engine(request.getfixturevalue(fixture))
    yield lambda: SqlAlchemyUnitOfWork(engine)
    engine.dispose()


def make_strategy(n: int, *, created: datetime | None = None) -> Strategy:
    return Strategy(
        name=f"strategy-{n}",
        code=f"def signals(candles):\n    return {n}\n",
        strategy_type="MOM",
        created_at=created or T0 + timedelta(minutes=n),
    )


def make_active(n: int, score: float, backtested: datetime) -> Strategy:
    strategy = make_strategy(n)
    strategy.validate(at=T0)
    strategy.record_backtest(
        score, at=backtested, timeframe=Timeframe.H1, execution=EXECUTION, coins=("SOL", "BTC")
    )
    strategy.move_to(Status.ACTIVE, reason="admitted", at=backtested, service="backtester")
    return strategy


def store(new_uow: UowFactory, *strategies: Strategy) -> None:
    with new_uow() as uow:
        for strategy in strategies:
            uow.strategies.add(strategy)
        uow.commit()


def test_committed_strategy_reads_back_with_every_field(new_uow: UowFactory) -> None:
    original = make_active(1, 42.5, T0 + timedelta(hours=1))
    original.execution = ExecutionParameters(0.03, 0.06, 2.0, 12, "atr", 20)
    store(new_uow, original)
    with new_uow() as uow:
        loaded = uow.strategies.get(original.id)
    for field in (
        "name", "code", "strategy_type", "created_at", "status", "timeframe", "execution", "coins",
        "score_backtest", "score_live", "last_backtested_at", "live_since", "retired_reason",
        "retired_at", "code_hash",
    ):  # fmt: skip
        assert getattr(loaded, field) == getattr(original, field), field
    assert loaded.created_at.tzinfo is not None and loaded.last_backtested_at.utcoffset() == (
        timedelta(0)
    )
    assert loaded.events == []


def test_backtest_coins_are_saved_in_their_order_and_none_reads_back_empty(
    new_uow: UowFactory,
) -> None:
    recorded, never = make_strategy(1), make_strategy(2)
    recorded.validate(at=T0)
    store(new_uow, recorded, never)
    with new_uow() as uow:
        uow.strategies.get(recorded.id).record_backtest(
            20.0, at=T0, timeframe=Timeframe.H4, execution=EXECUTION, coins=["ETH", "BTC", "XRP"]
        )
        uow.commit()
    with new_uow() as uow:
        assert uow.strategies.get(recorded.id).coins == ("ETH", "BTC", "XRP")
        assert uow.strategies.get(never.id).coins == ()


def test_leaving_without_commit_rolls_back(new_uow: UowFactory) -> None:
    strategy = make_strategy(1)
    with new_uow() as uow:
        uow.strategies.add(strategy)
    with new_uow() as uow, pytest.raises(NotFound):
        uow.strategies.get(strategy.id)


def test_explicit_rollback_discards_changes(new_uow: UowFactory) -> None:
    kept, dropped = make_strategy(1), make_strategy(2)
    with new_uow() as uow:
        uow.strategies.add(kept)
        uow.commit()
        uow.strategies.add(dropped)
        uow.rollback()
        assert uow.strategies.count(Status.GENERATED) == 1
        uow.commit()
    with new_uow() as uow:
        assert [s.id for s in uow.strategies.by_status(Status.GENERATED)] == [kept.id]


def test_same_code_is_a_duplicate(new_uow: UowFactory) -> None:
    first = make_strategy(1)
    store(new_uow, first)
    twin = Strategy(name="twin", code=first.code + "\n\n", strategy_type="REV", created_at=T0)
    with new_uow() as uow, pytest.raises(DuplicateStrategy):
        uow.strategies.add(twin)
    other, other_twin = make_strategy(2), make_strategy(2)
    other_twin.name = "other twin"
    with new_uow() as uow:
        uow.strategies.add(other)
        with pytest.raises(DuplicateStrategy):
            uow.strategies.add(other_twin)


def test_missing_strategy_is_not_found(new_uow: UowFactory) -> None:
    with new_uow() as uow, pytest.raises(NotFound):
        uow.strategies.get(uuid.uuid4())


def test_get_returns_the_same_object_within_a_unit_of_work(new_uow: UowFactory) -> None:
    strategy = make_strategy(1)
    store(new_uow, strategy)
    with new_uow() as uow:
        assert uow.strategies.get(strategy.id) is uow.strategies.get(strategy.id)


def test_saved_transitions_and_their_events_are_committed_once(new_uow: UowFactory) -> None:
    strategy = make_strategy(1)
    store(new_uow, strategy)
    with new_uow() as uow:
        loaded = uow.strategies.get(strategy.id)
        loaded.validate(at=T0 + timedelta(hours=1))
        uow.strategies.save(loaded)
        uow.strategies.save(loaded)
        loaded.retire("backtest_error: boom", at=T0 + timedelta(hours=2), service="backtester")
        assert [e.to_status for e in uow.strategies.events(strategy.id)] == [
            Status.VALIDATED,
            Status.RETIRED,
        ]
        uow.strategies.save(loaded)
        uow.commit()
    with new_uow() as uow:
        events = uow.strategies.events(strategy.id)
        loaded = uow.strategies.get(strategy.id)
    assert [(e.from_status, e.to_status, e.reason, e.service) for e in events] == [
        (Status.GENERATED, Status.VALIDATED, "validated", "validator"),
        (Status.VALIDATED, Status.RETIRED, "backtest_error: boom", "backtester"),
    ]
    assert events[1].at == T0 + timedelta(hours=2)
    assert (loaded.status, loaded.retired_reason) == (Status.RETIRED, "backtest_error: boom")
    assert loaded.retired_at == T0 + timedelta(hours=2)
    other = make_strategy(2)
    store(new_uow, other)
    with new_uow() as uow:
        uow.strategies.get(other.id).validate(at=T0 + timedelta(hours=3))
        uow.commit()
    with new_uow() as uow:
        recent = uow.strategies.recent_events(2)
    assert [(name, e.to_status) for name, e in recent] == [
        (other.name, Status.VALIDATED),
        (strategy.name, Status.RETIRED),
    ]
    with new_uow() as uow:
        reached = {status: uow.strategies.reached(status) for status in Status}
    assert (reached[Status.VALIDATED], reached[Status.RETIRED], reached[Status.LIVE]) == (2, 1, 0)


def test_commit_writes_every_loaded_strategy(new_uow: UowFactory) -> None:
    strategy = make_strategy(1)
    store(new_uow, strategy)
    with new_uow() as uow:
        uow.strategies.get(strategy.id).validate(at=T0)
        uow.commit()
    with new_uow() as uow:
        assert uow.strategies.get(strategy.id).status is Status.VALIDATED
        assert len(uow.strategies.events(strategy.id)) == 1


def test_by_status_is_oldest_first_and_count_matches(new_uow: UowFactory) -> None:
    young, old, middle = make_strategy(3), make_strategy(1), make_strategy(2)
    active = make_active(4, 30.0, T0)
    store(new_uow, young, old, middle, active)
    with new_uow() as uow:
        assert [s.id for s in uow.strategies.by_status(Status.GENERATED)] == [
            old.id,
            middle.id,
            young.id,
        ]
        assert uow.strategies.count(Status.GENERATED) == 3
        assert uow.strategies.count(Status.ACTIVE) == 1
        assert uow.strategies.count(Status.LIVE) == 0


def test_standings_list_the_active_pool(new_uow: UowFactory) -> None:
    members = [make_active(n, 20.0 + n, T0 + timedelta(hours=n)) for n in range(3)]
    store(new_uow, *members, make_strategy(9))
    with new_uow() as uow:
        standings = sorted(uow.strategies.standings(), key=lambda s: s.rank_key())
    assert [(s.strategy_id, s.score, s.last_backtested_at) for s in standings] == [
        (m.id, m.score_backtest, m.last_backtested_at) for m in members
    ]


def test_claims_are_exclusive_until_released_or_expired(new_uow: UowFactory) -> None:
    strategies = [make_strategy(n) for n in range(5)]
    store(new_uow, *strategies)
    with new_uow() as uow:
        first = uow.claims.claim(Status.GENERATED, 3, "a", T0, LEASE)
        uow.commit()
    assert [s.id for s in first] == [s.id for s in strategies[:3]]
    with new_uow() as uow:
        second = uow.claims.claim(Status.GENERATED, 3, "b", T0, LEASE)
        uow.claims.release(strategies[0].id, "b")  # not b's: no effect
        uow.claims.release(strategies[3].id, "b")
        uow.commit()
    assert [s.id for s in second] == [s.id for s in strategies[3:]]
    with new_uow() as uow:
        third = uow.claims.claim(Status.GENERATED, 5, "c", T0 + timedelta(minutes=1), LEASE)
        uow.commit()
    assert [s.id for s in third] == [strategies[3].id]
    with new_uow() as uow:
        expired = uow.claims.claim(Status.GENERATED, 5, "d", T0 + LEASE, LEASE)
    assert [s.id for s in expired] == [s.id for s in strategies[:3]] + [strategies[4].id]


def test_an_uncommitted_claim_is_not_held(new_uow: UowFactory) -> None:
    strategy = make_strategy(1)
    store(new_uow, strategy)
    with new_uow() as uow:
        assert len(uow.claims.claim(Status.GENERATED, 1, "a", T0, LEASE)) == 1
    with new_uow() as uow:
        assert len(uow.claims.claim(Status.GENERATED, 1, "b", T0, LEASE)) == 1


def test_claims_take_only_the_requested_status(new_uow: UowFactory) -> None:
    generated = make_strategy(1)
    validated = make_strategy(2)
    validated.validate(at=T0)
    store(new_uow, generated, validated)
    with new_uow() as uow:
        claimed = uow.claims.claim(Status.VALIDATED, 10, "a", T0, LEASE)
    assert [s.id for s in claimed] == [validated.id]


def test_retest_claims_oldest_backtest_first_and_only_when_due(new_uow: UowFactory) -> None:
    cutoff = T0 + timedelta(days=1)
    fresh = make_active(1, 40.0, cutoff + timedelta(seconds=1))
    due_late = make_active(2, 40.0, cutoff)
    due_early = make_active(3, 40.0, T0)
    never = make_active(4, 40.0, T0)
    never.last_backtested_at = None
    unscored = make_active(5, 40.0, cutoff + timedelta(days=1))  # migrated without a score
    unscored.score_backtest = None
    store(new_uow, fresh, due_late, due_early, never, unscored)
    with new_uow() as uow:
        claimed = uow.claims.claim_due_for_retest(cutoff, 10, "r", cutoff, LEASE)
        uow.commit()
    assert [s.id for s in claimed] == [unscored.id, never.id, due_early.id, due_late.id]
    with new_uow() as uow:
        assert uow.claims.claim_due_for_retest(cutoff, 10, "s", cutoff, LEASE) == []


def test_backtest_results_read_back_oldest_first(new_uow: UowFactory) -> None:
    strategy = make_strategy(1)
    store(new_uow, strategy)
    metrics = Metrics(0.12, 1.5, 0.08, 0.55, 0.004, 1.3, 40)

    def run(day: int) -> BacktestResult:
        start = T0 + timedelta(days=day)
        return BacktestResult(
            strategy_id=strategy.id,
            kind=RunKind.INITIAL if day == 0 else RunKind.RETEST,
            run_at=start + timedelta(days=400),
            timeframe=Timeframe.M15,
            parameters=ExecutionParameters(0.02, 0.04, 2.0, 24),
            training_window=Window(start, start + timedelta(days=365)),
            holdout_window=Window(start + timedelta(days=365), start + timedelta(days=395)),
            training=metrics,
            holdout=Metrics.empty(),
            score=33.3 + day,
            equity=((1_700_000_000_000, 1.0), (1_700_000_900_000, 1.0125 + day)),
            robustness=None
            if day
            else Robustness(
                Neighbourhood(33.3, (30.1, 12.5, 33.3, -math.inf)),
                TradeBands(40, 1000, Band(0.02, 0.05, 0.11), Band(-0.5, 1.25, math.nan)),
            ),
        )

    later, earlier = run(3), run(0)
    with new_uow() as uow:
        uow.backtests.add(later)
        uow.backtests.add(earlier)
        uow.commit()
    with new_uow() as uow:
        found = uow.backtests.for_strategy(strategy.id)
        assert found == [earlier, later] or math.isnan(found[0].robustness.bands.sharpe.high)
        assert [attrs.evolve(r, robustness=None) for r in found] == [
            attrs.evolve(earlier, robustness=None),
            later,
        ]
        stored = found[0].robustness
        assert stored.neighbourhood == earlier.robustness.neighbourhood
        assert stored.bands.drawdown == earlier.robustness.bands.drawdown
        assert stored.bands.sharpe.median == 1.25 and math.isnan(stored.bands.sharpe.high)
        assert uow.backtests.for_strategy(uuid.uuid4()) == []


def test_pool_admission_applies_the_leaderboard(new_uow: UowFactory) -> None:
    rules = pool.PoolRules(max_size=2, min_score_entry=15)
    members = [make_active(1, 20.0, T0), make_active(2, 30.0, T0)]
    candidates = [make_strategy(3), make_strategy(4), make_strategy(5)]
    for candidate in candidates:
        candidate.validate(at=T0)
    store(new_uow, *members, *candidates)
    for candidate, score in zip(candidates, (25.0, 10.0, 22.0), strict=True):
        with new_uow() as uow:
            strategy = uow.strategies.get(candidate.id)
            pool.admit(
                uow, rules, strategy, score, at=T0, timeframe=Timeframe.H4, execution=EXECUTION
            )
            uow.commit()
    with new_uow() as uow:
        active = {s.id for s in uow.strategies.by_status(Status.ACTIVE)}
        retired = {s.id: s.retired_reason for s in uow.strategies.by_status(Status.RETIRED)}
    assert active == {members[1].id, candidates[0].id}
    assert {sid: reason.split(":")[0] for sid, reason in retired.items()} == {
        members[0].id: "evicted",
        candidates[1].id: "below_entry",
        candidates[2].id: "pool_full",
    }


def _same_number(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def test_non_finite_metrics_read_back_identically(new_uow: UowFactory) -> None:
    """A window without a losing trade has profit factor inf; PostgreSQL's JSON refuses Infinity
    and NaN, so they must still round-trip on every backend."""
    strategy = make_strategy(1)
    store(new_uow, strategy)
    training = Metrics(0.12, math.inf, 0.0, 1.0, 0.004, math.inf, 7)
    holdout = Metrics(-0.5, -math.inf, math.nan, math.nan, -math.inf, math.nan, 0)
    result = BacktestResult(
        strategy_id=strategy.id,
        kind=RunKind.INITIAL,
        run_at=T0 + timedelta(days=400),
        timeframe=Timeframe.H1,
        parameters=ExecutionParameters(0.02, 0.04, 2.0, 24),
        training_window=Window(T0, T0 + timedelta(days=365)),
        holdout_window=Window(T0 + timedelta(days=365), T0 + timedelta(days=395)),
        training=training,
        holdout=holdout,
        score=12.5,
    )
    with new_uow() as uow:
        uow.backtests.add(result)
        uow.commit()
    with new_uow() as uow:
        (loaded,) = uow.backtests.for_strategy(strategy.id)
    for original, read in ((training, loaded.training), (holdout, loaded.holdout)):
        for field in attrs.fields(Metrics):
            a, b = getattr(original, field.name), getattr(read, field.name)
            assert _same_number(a, b), (field.name, a, b)
            assert type(a) is type(b), field.name


def test_a_deferred_strategy_waits_while_the_others_are_claimed(new_uow: UowFactory) -> None:
    first, second = make_strategy(1), make_strategy(2)
    store(new_uow, first, second)
    policy = RetryPolicy(first=timedelta(minutes=5))
    with new_uow() as uow:
        (claimed,) = uow.claims.claim(Status.GENERATED, 1, "a", T0, LEASE)
        assert claimed.id == first.id and uow.claims.failure(first.id) is None
        failure = policy.after(None, "database unavailable", T0)
        uow.claims.defer(first.id, "a", failure)
        uow.commit()
    with new_uow() as uow:
        assert uow.claims.failure(first.id) == failure
        assert uow.claims.failure(second.id) is None
        assert [(s.id, f) for s, f in uow.claims.deferred()] == [(first.id, failure)]
        waiting = uow.claims.claim(Status.GENERATED, 5, "b", T0 + timedelta(minutes=4), LEASE)
        assert [s.id for s in waiting] == [second.id]
        uow.commit()
    with new_uow() as uow:
        later = uow.claims.claim(Status.GENERATED, 5, "c", failure.retry_after, LEASE)
        assert [s.id for s in later] == [first.id]
        assert uow.strategies.get(first.id).status is Status.GENERATED
        again = policy.after(uow.claims.failure(first.id), "still down", failure.retry_after)
        uow.claims.defer(first.id, "c", again)
        uow.commit()
    assert again.count == 2 and again.retry_after - again.at == timedelta(minutes=10)
    with new_uow() as uow:
        retest = uow.claims.claim(Status.GENERATED, 1, "d", again.retry_after, LEASE)
        uow.claims.release(first.id, "d")
        uow.commit()
    assert [s.id for s in retest] == [first.id]
    with new_uow() as uow:
        assert uow.claims.failure(first.id) is None and uow.claims.deferred() == []


def test_defer_and_renew_touch_only_the_owners_claims(new_uow: UowFactory) -> None:
    strategies = [make_strategy(n) for n in range(3)]
    store(new_uow, *strategies)
    ids = [s.id for s in strategies]
    with new_uow() as uow:
        uow.claims.claim(Status.GENERATED, 2, "a", T0, LEASE)
        uow.commit()
    later = T0 + LEASE - timedelta(minutes=1)
    with new_uow() as uow:
        assert uow.claims.renew(ids, "a", later, LEASE) == set(ids[:2])
        assert uow.claims.renew(ids, "b", later, LEASE) == set()
        uow.claims.defer(ids[0], "b", RetryPolicy().after(None, "not b's", T0))
        uow.commit()
    with new_uow() as uow:
        assert uow.claims.failure(ids[0]) is None
        # Renewed: still held by "a" after the first lease ran out.
        taken = uow.claims.claim(Status.GENERATED, 5, "c", T0 + LEASE, LEASE)
        assert [s.id for s in taken] == [ids[2]]


def test_live_events_are_the_moves_into_and_out_of_live_after_a_time(new_uow: UowFactory) -> None:
    first, second = make_active(1, 60.0, T0), make_active(2, 55.0, T0)
    store(new_uow, first, second)
    with new_uow() as uow:
        for n, strategy in enumerate((first, second), start=1):
            loaded = uow.strategies.get(strategy.id)
            loaded.move_to(
                Status.LIVE, reason="deployed", at=T0 + timedelta(hours=n), service="rotator"
            )
            uow.strategies.save(loaded)
        uow.commit()
    with new_uow() as uow:
        loaded = uow.strategies.get(first.id)
        loaded.retire("drawdown: 0.35", at=T0 + timedelta(hours=3), service="monitor")
        uow.strategies.save(loaded)
        uow.commit()
    with new_uow() as uow:
        since = uow.strategies.live_events(T0 + timedelta(hours=1))
        every = uow.strategies.live_events(T0)
    assert [(name, e.from_status, e.to_status) for name, e in since] == [
        ("strategy-2", Status.ACTIVE, Status.LIVE),
        ("strategy-1", Status.LIVE, Status.RETIRED),
    ]
    assert [e.reason for _, e in every] == ["deployed", "deployed", "drawdown: 0.35"]
