"""The whole lifecycle in one process on SQLite with a ManualClock, wired by the container: from an
empty database, strategies are validated and backtested into a small pool (the full pool refuses
or evicts), the rotator deploys the best within the diversification limits, a re-backtest retires
a member, the executor trades the LIVE ones on the paper exchange through the sandbox, the monitor
retires them (degradation, drawdown), the executor winds their subaccounts down, the rotator
refills on its next check, and the newcomer trades until the monitor retires it (live score)."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from dependency_injector import providers
from tests.e2e.test_pipeline_pass import NOW, OPEN_GATES, small_environment
from tests.e2e.test_research_gates import PLANTED_REVERSAL

from sixbtc import config as configuration
from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.application.pool import PoolRules
from sixbtc.containers import build, use_cases
from sixbtc.domain.reasons import Code
from sixbtc.domain.retirement import RetirementPolicy
from sixbtc.domain.strategy import Status

#: Exploiters of the planted reversal of two types, and one that trades it backwards.
VARIANTS = {
    "RevThree": PLANTED_REVERSAL,
    "RevFour": PLANTED_REVERSAL.replace('{"streak": 3}', '{"streak": 4}').replace(
        "class PlantedReversal", "class RevFour"
    ),
    "MomThree": PLANTED_REVERSAL.replace('strategy_type = "REV"', 'strategy_type = "MOM"')
    .replace("class PlantedReversal", "class MomThree")
    .replace('{"streak": 3}', '{"streak": 2}'),
    "RevTwin": PLANTED_REVERSAL.replace("class PlantedReversal", "class RevTwin"),
    "RevFive": PLANTED_REVERSAL.replace('{"streak": 3}', '{"streak": 5}').replace(
        "class PlantedReversal", "class RevFive"
    ),
    "AgainstThree": PLANTED_REVERSAL.replace(
        "np.where(down, 1, np.where(up, -1, 0))", "np.where(down, -1, np.where(up, 1, 0))"
    ).replace("class PlantedReversal", "class AgainstThree"),
}


def small_factory(folder) -> dict[str, str]:
    """The environment of a small factory in ``folder``: the planted edge on 15m, a pool of 4,
    two LIVE slots, one strategy of a type LIVE at a time."""
    return (
        small_environment(folder)
        | OPEN_GATES
        | {
            "SIXBTC_MARKET_DATA__SYNTHETIC_MODE": "planted_edge",
            "SIXBTC_BACKTESTER__TIMEFRAMES": "[15m]",
            "SIXBTC_SCORING__MIN_TRADES": "{15m: 5}",
            "SIXBTC_ACTIVE_POOL__MAX_SIZE": "4",
            "SIXBTC_ROTATOR__MAX_LIVE_STRATEGIES": "2",
            "SIXBTC_ROTATOR__MIN_SCORE_LIVE": "20",
            "SIXBTC_ROTATOR__SELECTION__MAX_PER_TYPE": "1",
            "SIXBTC_VALIDATOR__LIVE_HISTORY_BARS": "400",
        }
    )


def traded_factory(environment: dict[str, str], on_pass=lambda pipeline: None):
    """A small factory's container, use cases and clock after six hours of paper trading: its
    variants validated, backtested, the best rotated LIVE and traded on 24 candles of 15m
    (``on_pass(pipeline)`` after each executor pass)."""
    settings = configuration.load(None, environ=environment)
    migrations.upgrade(settings.database.url)
    container = build(settings)
    clock = ManualClock(NOW + timedelta(hours=3))
    container.clock.override(providers.Object(clock))
    pipeline = use_cases(container)
    for name, code in VARIANTS.items():
        container.add_strategy()(code, name)
    pipeline.validate().run(limit=10)
    worker = pipeline.backtest_worker(claims=pipeline.claim_keeper(owner="e2e"))
    while worker.tick() is not None:
        pass
    pipeline.rotator().run()
    executor = pipeline.executor()
    for _ in range(24):
        clock.advance(timedelta(minutes=15))
        executor.tick()
        on_pass(pipeline)
    return container, pipeline, clock, executor


@pytest.fixture
def factory(tmp_path):
    environment = small_factory(tmp_path)
    settings = configuration.load(None, environ=environment)
    migrations.upgrade(settings.database.url)
    container = build(settings)
    clock = ManualClock(NOW + timedelta(hours=3))
    container.clock.override(providers.Object(clock))
    yield container, use_cases(container), clock
    container.shutdown_resources()


def by_status(container, status):
    with container.unit_of_work() as uow:
        return {s.name: s for s in uow.strategies.by_status(status)}


def test_a_strategy_goes_from_generated_to_live_to_retired_and_its_slot_is_refilled(factory):
    container, pipeline, clock = factory
    for name, code in VARIANTS.items():
        container.add_strategy()(code, name)
    pipeline.validate().run(limit=10)
    assert set(by_status(container, Status.VALIDATED)) == set(VARIANTS)
    worker = pipeline.backtest_worker(claims=pipeline.claim_keeper(owner="e2e"))
    while worker.tick() is not None:
        pass
    active, retired = by_status(container, Status.ACTIVE), by_status(container, Status.RETIRED)
    assert len(active) == 4  # the pool's size
    reasons = {s.retired_reason.code for s in retired.values()}
    assert Code.EVICTED in reasons or Code.POOL_FULL in reasons  # the full pool said no or evicted

    rotator = pipeline.rotator()
    deployed = rotator.run()
    live = by_status(container, Status.LIVE)
    assert sorted(d.name for d in deployed) == sorted(live)
    types = [s.strategy_type for s in live.values()]
    assert len(set(types)) == len(types) == 2  # rotator.selection.max_per_type 1
    waiting = by_status(container, Status.ACTIVE)
    lowest_live = min(s.score_backtest for s in live.values())
    skipped = [s for s in waiting.values() if s.score_backtest > lowest_live]
    assert skipped and all(s.strategy_type in types for s in skipped)  # better, but of a type LIVE

    # a due re-backtest under a stricter entry score retires a member of the pool
    backtester = pipeline.backtester()
    strict = pipeline.retest_worker(
        backtester=pipeline.backtester(
            settings=attrs.evolve(backtester.settings, pool=PoolRules(3, 99.0))
        ),
        claims=pipeline.claim_keeper(owner="e2e-retest"),
    )
    clock.advance(timedelta(days=4))  # past backtester.retest_interval_days
    outcome = strict.tick()
    assert outcome is not None and outcome.status is Status.RETIRED
    assert outcome.reason.code is Code.RETEST_BELOW_ENTRY
    waiting = by_status(container, Status.ACTIVE)
    assert len(waiting) == 1

    executor = pipeline.executor()
    exchange = container.exchange()
    for _ in range(24):  # six hours of 15m candles (the first pass catches up four days)
        clock.advance(timedelta(minutes=15))
        executor.tick()
    with container.unit_of_work() as uow:
        trades = {name: uow.trades.for_strategy(s.id) for name, s in live.items()}
    assert all(trades.values()), trades  # every LIVE strategy traded

    # the scorer scores; the monitor retires the one whose live score fell furthest below its
    # backtest score by degradation, the other by its drawdown whatever its trade count
    scored = pipeline.live_review(service="scorer").run(retire=False)
    assert {v.name for v in scored} == set(live) and not any(v.retired for v in scored)
    records = {v.name: v.record for v in scored}
    degraded, other = sorted(live, key=lambda n: RetirementPolicy.degradation(records[n]))[::-1]
    degradation = RetirementPolicy.degradation(records[degraded])
    below = max(0.0, RetirementPolicy.degradation(records[other]))
    assert degradation > below, records
    limit = (degradation + below) / 2  # between the two: only the first is retired
    by_degradation = RetirementPolicy(min_score=0, max_degradation=limit, min_trades=1)
    verdicts = pipeline.live_review(retirement=by_degradation).run(retire=True)
    assert {v.name: v.retired.code for v in verdicts if v.retired} == {degraded: Code.DEGRADATION}
    assert records[other].drawdown > 0, records[other]
    by_drawdown = RetirementPolicy(max_drawdown=records[other].drawdown / 2, min_trades=10**6)
    verdicts = pipeline.live_review(retirement=by_drawdown).run(retire=True)
    assert {v.name: v.retired.code for v in verdicts if v.retired} == {other: Code.DRAWDOWN}
    wind_down(clock, executor)
    with container.unit_of_work() as uow:
        assert all(a.is_free for a in uow.subaccounts.all())
        for name, strategy in live.items():
            assert all(not t.is_open for t in uow.trades.for_strategy(strategy.id)), name
    with container.unit_of_work() as uow:
        closed = [t for s in live.values() for t in uow.trades.for_strategy(s.id)]
    # every dollar accounted for: what the subaccounts got back is the capital plus the profits
    assert exchange.main_balance() == pytest.approx(
        container.config().exchange.initial_capital + sum(t.pnl for t in closed), abs=1e-6
    )
    refilled = rotator.run()  # the next check fills a freed slot with the one left ACTIVE
    assert [d.name for d in refilled] == list(waiting)
    assert set(by_status(container, Status.LIVE)) == set(waiting)

    # the newcomer trades, and a strict monitor retires it by its live score
    (newcomer,) = waiting
    for _ in range(24):
        clock.advance(timedelta(minutes=15))
        executor.tick()
    by_score = RetirementPolicy(min_score=100.0, min_trades=1)
    verdicts = pipeline.live_review(retirement=by_score).run(retire=True)
    assert {v.name: v.retired.code for v in verdicts if v.retired} == {newcomer: Code.LIVE_SCORE}
    wind_down(clock, executor)
    with container.unit_of_work() as uow:
        assert all(a.is_free for a in uow.subaccounts.all())
    assert not by_status(container, Status.LIVE) and rotator.run() == []  # nothing left to deploy


def wind_down(clock, executor) -> None:
    """Three candles: positions close at the next open, the cash goes back, the slot frees."""
    for _ in range(3):
        clock.advance(timedelta(minutes=15))
        executor.tick()
