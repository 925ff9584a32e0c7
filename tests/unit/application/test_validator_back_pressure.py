"""The validator pauses while pipeline.queue_limits.validated strategies wait for a backtest."""

from __future__ import annotations

from tests.factories import T0, claim_keeper, make_strategy

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.validate import ValidateStrategies
from sixbtc.domain.strategy import Status


class PassingChecker:
    """Every strategy passes every check."""

    def reason(self, code: str) -> None:
        return None


def stored(store: InMemoryStore, status: Status, count: int) -> None:
    with InMemoryUnitOfWork(store) as uow:
        for _ in range(count):
            uow.strategies.add(make_strategy(status))
        uow.commit()


def counts(store: InMemoryStore) -> tuple[int, int]:
    with InMemoryUnitOfWork(store) as uow:
        return uow.strategies.count(Status.GENERATED), uow.strategies.count(Status.VALIDATED)


def validator(store: InMemoryStore, queue_limit: int | None) -> ValidateStrategies:
    clock = ManualClock(T0)
    return ValidateStrategies(
        InMemoryUnitOfWork(store),
        clock,
        PassingChecker(),
        claim_keeper(store, clock),
        queue_limit=queue_limit,
    )


def test_validator_fills_the_validated_queue_up_to_its_limit_and_pauses():
    store = InMemoryStore()
    stored(store, Status.VALIDATED, 3)
    stored(store, Status.GENERATED, 10)
    validate = validator(store, queue_limit=5)

    assert validate.run(limit=20) == {"validated": 2, "retired": 0}
    assert counts(store) == (8, 5)
    assert validate.run(limit=20) == {"validated": 0, "retired": 0}
    assert counts(store) == (8, 5)


def test_validator_resumes_when_the_backtester_drains_the_queue():
    store = InMemoryStore()
    stored(store, Status.VALIDATED, 4)
    stored(store, Status.GENERATED, 10)
    validate = validator(store, queue_limit=4)
    assert validate.run() == {"validated": 0, "retired": 0}

    with InMemoryUnitOfWork(store) as uow:
        for strategy in uow.strategies.by_status(Status.VALIDATED)[:3]:
            strategy.retire("backtest_error: test", at=T0, service="backtester")
            uow.strategies.save(strategy)
        uow.commit()

    assert validate.run() == {"validated": 3, "retired": 0}
    assert counts(store) == (7, 4)


def test_validator_without_a_limit_takes_every_claimed_strategy():
    store = InMemoryStore()
    stored(store, Status.VALIDATED, 50)
    stored(store, Status.GENERATED, 6)
    assert validator(store, queue_limit=None).run(limit=20) == {"validated": 6, "retired": 0}
