"""A failure of our machinery (sandbox, database, market data) never retires a strategy and never
blocks the queue: the strategy keeps its status, waits a back-off and the others go on. Claims of a
live worker are renewed while it works; decisions are timed when they are made."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import attrs
import numpy as np
import pytest
from tests.factories import claim_keeper, make_strategy
from tests.unit.application.test_backtest import NOW, SETTINGS, SIGNALS, market_data

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.engine import PythonBacktestEngine
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.backtest import Backtester
from sixbtc.application.backtest_worker import BacktestWorker
from sixbtc.application.errors import ApplicationError, DatabaseUnavailable
from sixbtc.application.pipeline import PipelinePass
from sixbtc.application.pool import PoolRules
from sixbtc.application.validate import ValidateStrategies
from sixbtc.domain.candles import Candles
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.retry import RetryPolicy
from sixbtc.domain.robustness import RobustnessPolicy
from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.strategy import Status


class SandboxDown(ApplicationError):
    """Stands for the sandbox's own failure (a worker that died, a shutdown)."""


class Signals:
    """Signals by code; ``"down"`` fails as our machinery would; each call may advance a clock."""

    def __init__(self, clock: ManualClock | None = None, pause: float = 0.0) -> None:
        self.clock, self.pause = clock, pause

    def signals(self, code: str, candles: Candles) -> np.ndarray:
        if self.clock is not None:
            self.clock.advance(timedelta(seconds=1))
        time.sleep(self.pause)
        if code == "down":
            raise SandboxDown("sandbox worker died")
        if code == "plain_error":
            raise RuntimeError("sandbox worker died")
        return SIGNALS[code](candles)


class RunningClock:
    """Real time passing, from NOW."""

    rate = 1.0

    def __init__(self) -> None:
        self.start = time.monotonic()

    def now(self):
        return NOW + timedelta(seconds=time.monotonic() - self.start)


def stored(store: InMemoryStore, code: str, status: Status = Status.VALIDATED):
    strategy = make_strategy(status, score=None, timeframe=None)
    strategy.code = code
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(strategy)
        uow.commit()
    return strategy.id


def current(store: InMemoryStore, strategy_id):
    with InMemoryUnitOfWork(store) as uow:
        return uow.strategies.get(strategy_id), uow.claims.failure(strategy_id)


def worker(store, clock, signals, owner="w1", lease=timedelta(minutes=10)) -> BacktestWorker:
    backtester = Backtester(
        InMemoryUnitOfWork(store), market_data(), signals, PythonBacktestEngine(), clock, SETTINGS
    )
    claims = claim_keeper(store, clock, owner, lease)
    return BacktestWorker(
        InMemoryUnitOfWork(store), backtester, clock, RetestSchedule(), claims, elastic=True
    )


@pytest.mark.parametrize("code", ["down", "plain_error"])
def test_a_strategy_our_machinery_fails_on_waits_and_the_queue_goes_on(code: str) -> None:
    store, clock = InMemoryStore(), ManualClock(NOW)
    stuck = stored(store, code)
    healthy = stored(store, "cross")
    w = worker(store, clock, Signals())

    with pytest.raises(Exception, match="sandbox worker died"):
        w.tick()
    strategy, failure = current(store, stuck)
    assert strategy.status is Status.VALIDATED and strategy.retired_reason is None
    assert failure.count == 1 and "sandbox worker died" in failure.error
    assert failure.retry_after == NOW + RetryPolicy().first

    outcome = w.tick()  # the next strategy, not the failing one again
    assert outcome.strategy_id == healthy and outcome.status is not Status.VALIDATED
    assert w.tick() is None  # the failing one waits its back-off

    clock.advance(RetryPolicy().first)
    with pytest.raises(Exception, match="sandbox worker died"):
        w.tick()
    strategy, failure = current(store, stuck)
    assert strategy.status is Status.VALIDATED and failure.count == 2
    assert failure.retry_after == clock.now() + 2 * RetryPolicy().first


def test_a_success_after_failures_clears_the_record() -> None:
    store, clock = InMemoryStore(), ManualClock(NOW)
    strategy_id = stored(store, "down")
    w = worker(store, clock, Signals())
    with pytest.raises(SandboxDown):
        w.tick()
    with InMemoryUnitOfWork(store) as uow:  # the sandbox works again (the code is fixed here)
        uow.strategies.get(strategy_id).code = "cross"
        uow.commit()
    clock.advance(timedelta(hours=1))
    assert w.tick().strategy_id == strategy_id
    assert current(store, strategy_id)[1] is None


def test_an_interrupted_backtest_goes_back_to_the_queue_without_a_failure() -> None:
    store, clock = InMemoryStore(), ManualClock(NOW)
    strategy_id = stored(store, "cross")

    class Interrupting(Signals):
        def signals(self, code, candles):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        worker(store, clock, Interrupting()).tick()
    strategy, failure = current(store, strategy_id)
    assert strategy.status is Status.VALIDATED and failure is None
    assert worker(store, clock, Signals(), owner="w2").tick().strategy_id == strategy_id


def assert_no_takeover(clock, lease: timedelta, pause: float) -> None:
    """A slow worker holds a strategy while another one keeps trying to claim it."""
    store = InMemoryStore()
    strategy_id = stored(store, "cross")
    slow = worker(store, clock, Signals(pause=pause), owner="slow", lease=lease)
    done = []
    thread = threading.Thread(target=lambda: done.append(slow.tick()))
    thread.start()
    time.sleep(0.1)
    other = worker(store, clock, Signals(), owner="other", lease=lease)
    takeovers = []
    while thread.is_alive():
        outcome = other.tick()
        if outcome is not None:
            takeovers.append(outcome)
        time.sleep(0.05)
    thread.join()
    assert takeovers == []
    assert done[0].strategy_id == strategy_id


def test_a_live_workers_claim_is_renewed_so_nobody_takes_it_over() -> None:
    assert_no_takeover(RunningClock(), timedelta(seconds=0.3), pause=0.25)  # ~1 s of work


def test_a_dead_workers_claim_expires_and_is_taken_over() -> None:
    store, clock = InMemoryStore(), ManualClock(NOW)
    strategy_id = stored(store, "cross")
    lease = timedelta(minutes=5)
    with InMemoryUnitOfWork(store) as uow:  # claimed by a worker that then died
        uow.claims.claim(Status.VALIDATED, 1, "dead", NOW, lease)
        uow.commit()
    survivor = worker(store, clock, Signals(), owner="alive", lease=lease)
    assert survivor.tick() is None
    clock.advance(lease)
    assert survivor.tick().strategy_id == strategy_id


def test_the_decision_ends_the_claim_even_if_the_worker_dies_right_after_it() -> None:
    store, clock = InMemoryStore(), ManualClock(NOW)
    strategy_id = stored(store, "cross")
    w = worker(store, clock, Signals())
    gone = RuntimeError("the process was killed after the decision's commit")
    dies = SimpleNamespace(
        owner=w.claims.owner,
        lease=w.claims.lease,
        renewing=w.claims.renewing,
        release=_raise(gone),
        defer=_raise(gone),
    )
    w = attrs.evolve(w, claims=dies)
    with pytest.raises(RuntimeError, match="killed"):
        w.tick()
    decided, _ = current(store, strategy_id)
    assert decided.status is not Status.VALIDATED
    assert store.claims == {}  # no claim outlives the work it was for


def _raise(error: Exception):
    def fail(*args, **kwargs):
        raise error

    return fail


def test_decisions_are_timed_when_made_not_when_the_backtest_started() -> None:
    store, clock = InMemoryStore(), ManualClock(NOW)
    strategy_id = stored(store, "cross")
    w = worker(store, clock, Signals(clock=clock))  # every signal request takes a second
    outcome = w.tick()
    with InMemoryUnitOfWork(store) as uow:
        event = uow.strategies.events(strategy_id)[-1]
    assert outcome.result.run_at == NOW
    assert event.at == clock.now() > NOW


class FailingChecker:
    """Passes strategies until ``fail_on`` (by code), where our machinery fails."""

    def __init__(self, fail_on: str) -> None:
        self.fail_on = fail_on
        self.seen: list[str] = []

    def reason(self, code: str) -> str | None:
        self.seen.append(code)
        if code == self.fail_on:
            raise SandboxDown("sandbox worker died")
        return None


def test_a_validator_tick_that_fails_defers_that_strategy_and_releases_the_rest() -> None:
    store, clock = InMemoryStore(), ManualClock(NOW)
    ids = [stored(store, code, Status.GENERATED) for code in ("a", "b", "c", "d")]
    validate = ValidateStrategies(
        InMemoryUnitOfWork(store), clock, FailingChecker("b"), claim_keeper(store, clock, "v1")
    )
    with pytest.raises(SandboxDown):
        validate.run(limit=4)
    statuses = [current(store, sid)[0].status for sid in ids]
    assert statuses == [Status.VALIDATED, Status.GENERATED, Status.GENERATED, Status.GENERATED]
    assert current(store, ids[1])[1].count == 1
    # The rest of the batch is free at once for another validator; the failing one waits.
    other = ValidateStrategies(
        InMemoryUnitOfWork(store), clock, FailingChecker("none"), claim_keeper(store, clock, "v2")
    )
    assert other.run(limit=4) == {"validated": 2, "retired": 0}
    assert current(store, ids[1])[0].status is Status.GENERATED


class Scripted:
    """Plays its script: each step is returned, or raised when it is an exception."""

    def __init__(self, *steps) -> None:
        self.steps = list(steps)

    def __call__(self, **_):
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step


def a_pass(validate, tick) -> PipelinePass:
    store = InMemoryStore()
    clock = ManualClock(NOW)
    return PipelinePass(
        unit_of_work=InMemoryUnitOfWork(store),
        clock=clock,
        rules=PoolRules(),
        generate=SimpleNamespace(run=lambda batch: 0),
        validate=SimpleNamespace(run=validate),
        backtest=SimpleNamespace(tick=tick),
        selection=LiveSelection(),
    )


def test_a_pass_goes_on_after_a_failure_of_ours_and_says_so() -> None:
    done = {"validated": 1, "retired": 0}
    none = {"validated": 0, "retired": 0}
    validate = Scripted(done, SandboxDown("worker died"), done, none)
    tick = Scripted(SandboxDown("worker died"), None)
    lines: list[str] = []
    report = a_pass(validate, tick).run(strategies=0, progress=lines.append)
    assert report.validated == 2
    assert sum("deferred after a failure of ours (worker died)" in line for line in lines) == 2


def test_a_pass_stops_when_our_failures_keep_coming() -> None:
    down = DatabaseUnavailable("database unavailable: connection refused")
    validate = Scripted(*[down] * 10)
    with pytest.raises(DatabaseUnavailable):
        a_pass(validate, Scripted(None)).run(strategies=0)
    assert len(validate.steps) == 10 - 4


def test_a_fast_clock_renews_claims_as_often_in_its_own_time() -> None:
    """``sixbtc run``'s clock runs 600x: a lease of 10 clock-minutes is one wall second, so the
    heartbeat must beat in clock time or a second worker takes the strategy over."""
    from sixbtc.adapters.clock import SimulatedClock

    clock = SimulatedClock(NOW, speed=600.0)
    assert_no_takeover(clock, timedelta(minutes=10), pause=0.3)  # ~2 s of work


def test_a_stop_during_the_permutation_test_puts_the_strategy_back_unchanged() -> None:
    """A stop is not a failure: asked between two permutations, the backtest ends at once, and
    the strategy waits in the queue as it was (no result, no event, no back-off, no claim)."""
    store, clock = InMemoryStore(), ManualClock(NOW)
    strategy_id = stored(store, "long")
    stop = threading.Event()
    gates = RobustnessPolicy(0.0, 1.0, 0, 0, permutations=20)
    backtester = Backtester(
        InMemoryUnitOfWork(store),
        market_data(),
        Signals(),
        PythonBacktestEngine(),
        clock,
        attrs.evolve(SETTINGS, robustness=gates),
        stopping=stop.is_set,
    )
    claims = claim_keeper(store, clock, "w1", timedelta(minutes=10))
    w = BacktestWorker(InMemoryUnitOfWork(store), backtester, clock, RetestSchedule(), claims)
    stop.set()

    assert w.tick() is None
    strategy, failure = current(store, strategy_id)
    assert strategy.status is Status.VALIDATED and failure is None
    with InMemoryUnitOfWork(store) as uow:
        assert uow.backtests.for_strategy(strategy_id) == []
        assert uow.strategies.events(strategy_id) == []
        assert uow.claims.claim(Status.VALIDATED, 1, "w2", clock.now(), timedelta(minutes=1))
