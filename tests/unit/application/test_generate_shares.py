import itertools

from tests.factories import T0

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryUnitOfWork
from sixbtc.application.generate import GenerateStrategies
from sixbtc.application.ports import StrategyDraft
from sixbtc.domain.strategy import Status


class CountingSource:
    """Proposes distinct drafts of one type; ``limit`` caps what it can offer per call."""

    def __init__(self, strategy_type: str, limit: int | None = None) -> None:
        self.strategy_type = strategy_type
        self.limit = limit
        self.counter = itertools.count()

    def propose(self, count, parents):
        count = count if self.limit is None else min(count, self.limit)
        return [
            StrategyDraft(
                f"{self.strategy_type}{n}", f"# {self.strategy_type} {n}\n", self.strategy_type
            )
            for n in itertools.islice(self.counter, count)
        ]


def types_stored(uow):
    with uow:
        return sorted(s.strategy_type for s in uow.strategies.by_status(Status.GENERATED))


def test_sources_share_the_batch_equally():
    uow = InMemoryUnitOfWork()
    generate = GenerateStrategies(
        uow, ManualClock(T0), [CountingSource("MOM"), CountingSource("REV")]
    )
    assert generate.run(batch=7) == 7
    assert types_stored(uow) == ["MOM"] * 4 + ["REV"] * 3


def test_a_source_short_of_drafts_is_made_up_by_the_next():
    uow = InMemoryUnitOfWork()
    sources = [CountingSource("MOM", limit=1), CountingSource("REV")]
    assert GenerateStrategies(uow, ManualClock(T0), sources).run(batch=6) == 6
    assert types_stored(uow) == ["MOM"] + ["REV"] * 5


def test_generator_pauses_at_the_queue_limit():
    uow = InMemoryUnitOfWork()
    generate = GenerateStrategies(uow, ManualClock(T0), [CountingSource("MOM")], queue_limit=5)
    assert generate.run(batch=4) == 4
    assert generate.run(batch=4) == 1
    assert generate.run(batch=4) == 0
