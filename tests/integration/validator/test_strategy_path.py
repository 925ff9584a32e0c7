"""Generated and hand-written strategies take one path: GENERATED -> validator -> VALIDATED or
RETIRED with a reason; the generator respects the queue limit and breeds ACTIVE members."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from tests.factories import claim_keeper
from tests.strategy_samples import EMA_CROSS, strategy

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.generator import CatalogueStrategySource, GeneticStrategySource
from sixbtc.adapters.inspection import AstCodeInspector
from sixbtc.adapters.memory import InMemoryUnitOfWork
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.errors import DuplicateStrategy, InvalidStrategyCode
from sixbtc.application.generate import AddStrategy, GenerateStrategies
from sixbtc.application.validate import (
    StrategyChecker,
    ValidateStrategies,
    ValidationSettings,
    random_walk,
)
from sixbtc.domain.strategy import Status, Strategy, code_hash

START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def sandbox():
    with SandboxSignalSource(workers=2, cpu_seconds=2, memory_mb=256) as source:
        yield source


@pytest.fixture
def uow():
    return InMemoryUnitOfWork()


def validator(uow, sandbox):
    checker = StrategyChecker(AstCodeInspector(), sandbox, ValidationSettings(history_bars=1000))
    clock = ManualClock(START)
    return ValidateStrategies(uow, clock, checker, claim_keeper(uow.store, clock))


def test_hand_written_and_generated_strategies_go_the_same_path(uow, sandbox):
    clock = ManualClock(START)
    GenerateStrategies(uow, clock, [CatalogueStrategySource(seed=3)]).run(batch=5)
    added = AddStrategy(uow, clock, AstCodeInspector())(EMA_CROSS)
    looks_ahead = AddStrategy(uow, clock, AstCodeInspector())(
        strategy("return np.sign(bars.close.shift(-1) - bars.close).fillna(0)")
    )
    assert validator(uow, sandbox).run(limit=10) == {"validated": 6, "retired": 1}
    with uow:
        assert uow.strategies.get(added.id).status is Status.VALIDATED
        assert len(uow.strategies.by_status(Status.VALIDATED)) == 6
        retired = uow.strategies.get(looks_ahead.id)
        assert retired.retired_reason == "lookahead: shift(-1) at line 10"
        (event,) = uow.strategies.events(retired.id)
        assert (event.to_status, event.service) == (Status.RETIRED, "validator")


def test_duplicate_hand_written_strategy_is_refused(uow):
    add = AddStrategy(uow, ManualClock(START), AstCodeInspector())
    add(EMA_CROSS)
    with pytest.raises(DuplicateStrategy, match="same code"):
        add(EMA_CROSS + "\n\n")


def test_code_without_a_strategy_class_is_refused_at_insertion(uow):
    with pytest.raises(InvalidStrategyCode, match="syntax_error: found 0 classes"):
        AddStrategy(uow, ManualClock(START), AstCodeInspector())("import numpy as np\n")


def test_generator_pauses_while_the_queue_is_full(uow):
    generate = GenerateStrategies(
        uow, ManualClock(START), [CatalogueStrategySource()], queue_limit=8
    )
    assert generate.run(batch=5) == 5
    assert generate.run(batch=5) == 3
    assert generate.run(batch=5) == 0
    with uow:
        assert uow.strategies.count(Status.GENERATED) == 8


def test_generator_is_reproducible_from_its_seed():
    first = [d.code for d in CatalogueStrategySource(seed=11).propose(20)]
    again = [d.code for d in CatalogueStrategySource(seed=11).propose(20)]
    other = [d.code for d in CatalogueStrategySource(seed=12).propose(20)]
    assert first == again and first != other


def test_genetic_source_breeds_active_generated_strategies(uow):
    clock = ManualClock(START)
    GenerateStrategies(uow, clock, [CatalogueStrategySource(seed=5)]).run(batch=4)
    with uow:
        parents = uow.strategies.by_status(Status.GENERATED)
    children = GeneticStrategySource(seed=1).propose(30, parents)
    inspector = AstCodeInspector()
    parent_entries = {inspector.outline(p.code).parameters["entry"] for p in parents}
    assert len(children) == 30
    assert all(inspector.problem(c.code) is None for c in children)
    assert {inspector.outline(c.code).parameters["entry"] for c in children} <= parent_entries
    assert len({code_hash(c.code) for c in children}) > 20
    assert GeneticStrategySource().propose(5, [AddStrategy(uow, clock, inspector)(EMA_CROSS)]) == []


def test_better_scored_parents_breed_more():
    drafts = CatalogueStrategySource(seed=9).propose(2)  # a MOM and a REV strategy
    parents = [Strategy(d.name, d.code, d.strategy_type, START) for d in drafts]
    parents[0].score_backtest, parents[1].score_backtest = 16.0, 80.0
    inspector = AstCodeInspector()
    entries = [inspector.outline(p.code).parameters["entry"] for p in parents]
    assert entries[0] != entries[1]
    children = GeneticStrategySource(seed=4, crossover_rate=0.0).propose(400, parents)
    counts = Counter(inspector.outline(c.code).parameters["entry"] for c in children)
    # Drawn uniformly, each parent would have half the children; by tournaments of three, the
    # better one about 7 in 8.
    assert counts[entries[1]] > 0.8 * len(children) and counts[entries[0]] > 0


def generated_batch_report(count: int, sandbox) -> tuple[Counter, int, int]:
    drafts = CatalogueStrategySource(seed=2024).propose(count)
    checker = StrategyChecker(AstCodeInspector(), sandbox, ValidationSettings(history_bars=1000))
    outcomes = Counter((checker.reason(d.code) or "passed").split(":")[0] for d in drafts)
    candles = random_walk(6000, seed=99)
    patterns = {sandbox.signals(d.code, candles).tobytes() for d in drafts}
    hashes = {code_hash(d.code) for d in drafts}
    print(f"\n{count} generated strategies: checks {dict(outcomes)}")
    for check in (
        "syntax_error",
        "unsafe",
        "lookahead",
        "lookahead_shuffle",
        "warmup_dependent",
        "runtime_error",
        "timeout",
    ):
        print(f"  rejected by {check}: {outcomes.get(check, 0) / count:.1%}")
    print(f"  distinct code hashes {len(hashes)}, distinct signal patterns {len(patterns)}")
    return outcomes, len(hashes), len(patterns)


def test_generated_strategies_pass_every_check(sandbox):
    outcomes, hashes, patterns = generated_batch_report(60, sandbox)
    assert outcomes == Counter(passed=60)
    assert hashes == 60 and patterns >= 50


@pytest.mark.slow
def test_thousand_generated_strategies_pass_every_check(sandbox):
    outcomes, hashes, patterns = generated_batch_report(1000, sandbox)
    assert outcomes == Counter(passed=1000)
    assert hashes == 1000 and patterns >= 800  # measured: 836 (the rest mostly never trade)
