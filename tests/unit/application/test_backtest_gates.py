"""The research-validity gates between the backtest and the pool (spec section 12), on in-memory
adapters and the reference engine."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import attrs
import numpy as np
import pytest
from tests.factories import make_strategy
from tests.unit.application.test_backtest import (
    NOW,
    SETTINGS,
    SIGNALS,
    FakeSignalSource,
    add_strategy,
    market_data,
    stored,
)

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.engine import PythonBacktestEngine
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.backtest import Backtester
from sixbtc.application.permutation import permutation_rng, permuted_candles
from sixbtc.application.pool import PoolRules
from sixbtc.domain.candles import Candles
from sixbtc.domain.reasons import Code
from sixbtc.domain.robustness import RobustnessPolicy
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe

OPEN_GATES = RobustnessPolicy(0.0, 1.0, 0, 0, permutations=0)


@pytest.fixture
def world():
    store, clock = InMemoryStore(), ManualClock(NOW)
    source = FakeSignalSource(SIGNALS)

    def build(gates: RobustnessPolicy, drift: float = 0.004) -> Backtester:
        settings = attrs.evolve(SETTINGS, robustness=gates)
        return Backtester(
            InMemoryUnitOfWork(store),
            market_data(drift=drift),
            source,
            PythonBacktestEngine(),
            clock,
            settings,
        )

    return store, clock, source, build


def test_open_gates_admit_as_without_gates(world):
    store, _, source, build = world
    strategy_id = add_strategy(store, "long")
    result = build(OPEN_GATES).initial(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.ACTIVE and runs == [result]
    assert source.calls == len(SETTINGS.timeframes) * SETTINGS.coins  # no permuted market


def test_too_few_training_trades_retire_with_the_counts_and_keep_the_result(world):
    store, _, _, build = world
    strategy_id = add_strategy(store, "long")
    result = build(attrs.evolve(OPEN_GATES, min_trades_training=10_000)).initial(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert result.score >= 15
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason == f"min_trades_training: {result.training.trades} < 10000"
    assert runs == [result]
    assert strategy.score_backtest == result.score
    assert strategy.execution == result.parameters
    with InMemoryUnitOfWork(store) as uow:
        events = uow.strategies.events(strategy_id)
    assert (events[-1].from_status, events[-1].to_status) == (Status.VALIDATED, Status.RETIRED)
    assert events[-1].reason == strategy.retired_reason


def test_too_few_holdout_trades_retire(world):
    store, _, _, build = world
    strategy_id = add_strategy(store, "long")
    result = build(attrs.evolve(OPEN_GATES, min_trades_holdout=10_000)).initial(strategy_id)
    strategy, _ = stored(store, strategy_id)
    assert strategy.retired_reason == f"min_trades_holdout: {result.holdout.trades} < 10000"


def test_a_sharpe_that_many_trials_explain_is_deflated_away(world):
    """On a weak trend, 16 configurations on 60 daily returns: the best Sharpe is not far enough
    above the best one expected from 16 trials on noise."""
    store, _, _, build = world
    strategy_id = add_strategy(store, "long")
    result = build(attrs.evolve(OPEN_GATES, min_deflated_sharpe=0.95), drift=0.001).initial(
        strategy_id
    )

    strategy, runs = stored(store, strategy_id)
    assert result.score >= 15 and runs == [result]
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason.startswith("deflated_sharpe: ")
    assert "trials 16, " in strategy.retired_reason  # 2 timeframes x 8 combinations


def test_a_trend_survives_permutation_so_always_long_fails_the_permutation_test(world):
    """Permuting bar returns keeps their sum: buying a trend scores as well on every permuted
    market, so nothing in the order of the bars is being exploited. With 20 permutations planned
    one as-good market already fails the gate (2/21 > 0.05): the test stops there."""
    store, _, source, build = world
    strategy_id = add_strategy(store, "long")
    gates = attrs.evolve(OPEN_GATES, max_permutation_p=0.05, permutations=20)
    result = build(gates).initial(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert result.score >= 15 and runs == [result]
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason.startswith("permutation: p ")
    found = re.fullmatch(
        r"permutation: p [0-9.]+ \(1 of (\d+) permutations scored as well, stopped early of 20\)"
        r" > 0\.05",
        str(strategy.retired_reason),
    )
    assert found, strategy.retired_reason
    searched = len(SETTINGS.timeframes) * SETTINGS.coins
    assert source.calls == searched + int(found[1]) * SETTINGS.coins


def test_candidates_below_entry_skip_the_gates(world):
    store, _, source, build = world
    strategy_id = add_strategy(store, "long")
    gates = RobustnessPolicy(min_trades_training=10_000)
    result = build(gates, drift=-0.01).initial(strategy_id)

    strategy, _ = stored(store, strategy_id)
    assert result.score < 15
    assert strategy.retired_reason.startswith("below_entry")
    assert source.calls == len(SETTINGS.timeframes) * SETTINGS.coins


def test_a_candidate_the_full_pool_would_refuse_skips_the_gates(world):
    """The pool decides admission alone, and is asked first: no permutation test runs for a
    candidate it would refuse (pool_full)."""
    store, _, source, build = world
    best = make_strategy(Status.ACTIVE, score=99.0)
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(best)
        uow.commit()
    strategy_id = add_strategy(store, "long")
    gates = attrs.evolve(OPEN_GATES, max_permutation_p=0.05, permutations=20)
    backtester = build(gates)
    backtester.settings = attrs.evolve(backtester.settings, pool=PoolRules(max_size=1))
    result = backtester.initial(strategy_id)

    strategy, _ = stored(store, strategy_id)
    assert 15 <= result.score < 99
    assert strategy.retired_reason.code is Code.POOL_FULL
    assert source.calls == len(SETTINGS.timeframes) * SETTINGS.coins


def test_retests_apply_the_trade_count_gates_only(world):
    store, clock, _, build = world
    strategy_id = add_strategy(store, "long")
    build(OPEN_GATES).initial(strategy_id)
    clock.advance(timedelta(days=3))
    strict_but_counts = RobustnessPolicy(1.0, 1 / 21, 0, 0, permutations=20)
    build(strict_but_counts).retest(strategy_id)
    assert stored(store, strategy_id)[0].status is Status.ACTIVE

    clock.advance(timedelta(days=3))
    retest = build(attrs.evolve(OPEN_GATES, min_trades_training=10_000)).retest(strategy_id)
    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason == f"min_trades_training: {retest.training.trades} < 10000"
    assert runs[-1] == retest and strategy.score_backtest == retest.score


def candles(n: int = 200, seed: int = 3) -> Candles:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[50.0, close[:-1]] * np.exp(rng.normal(0, 0.002, n))  # gaps at the open
    high = np.maximum(open_, close) * np.exp(rng.exponential(0.003, n))
    low = np.minimum(open_, close) * np.exp(-rng.exponential(0.003, n))
    times = 1_700_000_000_000 + 3_600_000 * np.arange(n)
    return Candles("BTC", Timeframe.H1, times, open_, high, low, close, rng.uniform(1, 9, n))


def moves(bars: Candles) -> np.ndarray:
    """Each bar's (open, high, low, close) log-returns from the previous close, with its volume."""
    previous = np.log(bars.close[:-1])
    columns = [np.log(getattr(bars, f)[1:]) - previous for f in ("open", "high", "low", "close")]
    return np.stack([*columns, bars.volume[1:]], axis=1)


def test_permuted_candles_shuffle_whole_bars_and_stay_consistent():
    original = candles()
    permuted = permuted_candles(original, permutation_rng(uuid.UUID(int=7), 0, 0))

    assert np.array_equal(permuted.time, original.time)
    for field in ("open", "high", "low", "close", "volume"):
        assert getattr(permuted, field)[0] == getattr(original, field)[0]
    assert np.all(permuted.low <= np.minimum(permuted.open, permuted.close))
    assert np.all(permuted.high >= np.maximum(permuted.open, permuted.close))
    before, after = moves(original), moves(permuted)
    assert not np.allclose(before, after)
    order = np.lexsort(before.T[::-1])
    assert np.allclose(before[order], after[np.lexsort(after.T[::-1])])
    assert permuted.close[-1] == pytest.approx(original.close[-1])  # same moves, same sum


def test_permutations_are_seeded_by_strategy_permutation_and_coin():
    original = candles()

    def closes(strategy: int, permutation: int, coin: int) -> np.ndarray:
        rng = permutation_rng(uuid.UUID(int=strategy), permutation, coin)
        return permuted_candles(original, rng).close

    assert np.array_equal(closes(1, 2, 3), closes(1, 2, 3))
    for other in ((2, 2, 3), (1, 3, 3), (1, 2, 4)):
        assert not np.array_equal(closes(1, 2, 3), closes(*other))
