"""The initial backtest and the re-backtest on in-memory adapters, asserting end state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import attrs
import numpy as np
import pytest
from tests.factories import make_strategy

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.engine import PythonBacktestEngine
from sixbtc.adapters.memory import InMemoryMarketData, InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.backtest import Backtester, BacktestSettings
from sixbtc.application.errors import MarketDataUnavailable, StrategyFailed
from sixbtc.application.pool import PoolRules
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import Costs, ParameterGrid, RunKind
from sixbtc.domain.candles import Candles
from sixbtc.domain.errors import IllegalTransition
from sixbtc.domain.reasons import Code
from sixbtc.domain.scoring import ScoringPolicy
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe

NOW = datetime(2026, 3, 1, 13, 37, tzinfo=UTC)
HISTORY_START = NOW - timedelta(days=120)
TIMEFRAMES = (Timeframe.H4, Timeframe.D1)
GRID = ParameterGrid(
    stop_loss=(0.02, 0.05), take_profit=(0.01, 0.03), leverage=(1.0,), max_hold_bars=(3, 6)
)
SETTINGS = BacktestSettings(
    timeframes=TIMEFRAMES,
    grid=GRID,
    costs=Costs(),
    scoring=ScoringPolicy(min_trades={Timeframe.H4: 5, Timeframe.D1: 3}),
    pool=PoolRules(max_size=300, min_score_entry=15),
    training_days=60,
    holdout_days=10,
    coins=2,
)


def moving_average_cross(candles: Candles) -> np.ndarray:
    """+1 while the 3-bar mean is above the 8-bar mean, -1 below; NaN while warming up."""
    close = candles.close

    def mean(window: int) -> np.ndarray:
        sums = np.cumsum(np.r_[0.0, close])
        out = np.full(close.size, np.nan)
        out[window - 1 :] = (sums[window:] - sums[:-window]) / window
        return out

    return np.sign(mean(3) - mean(8))


def broken(candles: Candles) -> np.ndarray:
    raise StrategyFailed("NameError: name 'talib' is not defined")


class FakeSignalSource:
    """Maps strategy code to a numpy function of the candles."""

    def __init__(self, functions) -> None:
        self.functions = functions
        self.calls = 0
        self.symbols: list[str] = []

    def signals(self, code: str, candles: Candles) -> np.ndarray:
        self.calls += 1
        self.symbols.append(candles.symbol)
        return self.functions[code](candles)


def trending_candles(symbol, timeframe, drift, *, crash_after=None, seed=0):
    """A noisy trend from HISTORY_START to NOW + 60 days; falls by 3% a bar after ``crash_after``."""
    rng = np.random.default_rng(seed)
    step = timeframe.minutes * 60_000
    start = int(HISTORY_START.timestamp() * 1000)
    times = np.arange(start, int((NOW + timedelta(days=60)).timestamp() * 1000), step)
    moves = drift + rng.normal(0, 0.004, times.size)
    if crash_after is not None:
        moves[times >= int(crash_after.timestamp() * 1000)] = -0.03
    close = 100 * np.exp(np.cumsum(moves))
    bar_open = np.r_[100, close[:-1]]
    high = np.maximum(bar_open, close) * 1.002
    low = np.minimum(bar_open, close) * 0.998
    return Candles(symbol, timeframe, times, bar_open, high, low, close, np.ones(times.size))


class RankedMarketData(InMemoryMarketData):
    """Serves its candles with ``symbols()`` in the order of ``ranking`` (a top list by volume)."""

    def __init__(self, candles, ranking) -> None:
        super().__init__(candles)
        self.ranking = list(ranking)

    def symbols(self) -> list[str]:
        return list(self.ranking)


def market_data(drift=0.004, **kwargs):
    return InMemoryMarketData(
        trending_candles(symbol, timeframe, drift, seed=n, **kwargs)
        for n, symbol in enumerate(("BTC", "ETH", "SOL"))
        for timeframe in TIMEFRAMES
    )


def always_long(candles: Candles) -> np.ndarray:
    return np.ones(len(candles))


def wrong_length(candles: Candles) -> np.ndarray:
    return np.ones(len(candles) + 1)


SIGNALS = {
    "cross": moving_average_cross,
    "long": always_long,
    "broken": broken,
    "wrong_length": wrong_length,
}


@pytest.fixture
def world():
    store = InMemoryStore()
    clock = ManualClock(NOW)
    source = FakeSignalSource(SIGNALS)

    def build(data=None):
        return Backtester(
            InMemoryUnitOfWork(store),
            data or market_data(),
            source,
            PythonBacktestEngine(),
            clock,
            SETTINGS,
        )

    return store, clock, source, build


def add_strategy(store, code, status=Status.VALIDATED):
    strategy = make_strategy(status, score=None, timeframe=None)
    strategy.code = code
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(strategy)
        uow.commit()
    return strategy.id


def stored(store, strategy_id):
    with InMemoryUnitOfWork(store) as uow:
        return uow.strategies.get(strategy_id), uow.backtests.for_strategy(strategy_id)


def split(data, code, timeframe, windows):
    """The test's own markets of the two windows: candles of each coin, signals on both."""
    training, holdout = [], []
    for symbol in data.symbols()[: SETTINGS.coins]:
        candles = data.candles(symbol, timeframe, windows[0].start, windows[1].end)
        signals = SIGNALS[code](candles)
        cut = int(np.searchsorted(candles.time, windows[1].start.timestamp() * 1000))
        training.append(Market(candles.slice(0, cut), signals[:cut]))
        holdout.append(Market(candles.slice(cut, len(candles)), signals[cut:]))
    return training, holdout


def test_initial_backtest_admits_a_profitable_strategy_with_its_choice(world):
    store, _, source, build = world
    strategy_id = add_strategy(store, "long")
    result = build().initial(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.ACTIVE
    assert runs == [result]
    assert result.kind is RunKind.INITIAL
    assert result.score >= 15
    assert strategy.score_backtest == result.score
    assert strategy.last_backtested_at == NOW
    assert strategy.timeframe is result.timeframe
    assert strategy.execution == result.parameters
    assert strategy.coins == ("BTC", "ETH")
    assert source.calls == len(TIMEFRAMES) * SETTINGS.coins  # once per coin and timeframe


def test_windows_are_the_most_recent_days_aligned_to_the_timeframe():
    training, holdout = SETTINGS.windows(NOW, Timeframe.H4)
    assert holdout.end == datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert holdout.start == holdout.end - timedelta(days=10) == training.end
    assert training.start == training.end - timedelta(days=60)
    assert SETTINGS.windows(NOW, Timeframe.D1)[1].end == datetime(2026, 3, 1, tzinfo=UTC)


def test_best_training_score_chooses_timeframe_and_parameters_and_holdout_judges_them(world):
    store, _, _, build = world
    data = market_data(drift=0.0005)
    strategy_id = add_strategy(store, "cross")
    result = build(data).initial(strategy_id)

    engine, combinations = PythonBacktestEngine(), GRID.combinations()
    best = {}
    for timeframe in TIMEFRAMES:
        training, _ = split(data, "cross", timeframe, SETTINGS.windows(NOW, timeframe))
        for parameters, metrics in zip(
            combinations, engine.sweep(training, combinations, SETTINGS.costs), strict=True
        ):
            best[(timeframe, parameters)] = SETTINGS.scoring.training_score(metrics, timeframe)
    top = max(best.values())
    assert best[(result.timeframe, result.parameters)] == top
    windows = SETTINGS.windows(NOW, result.timeframe)
    assert (result.training_window, result.holdout_window) == windows
    _, holdout = split(data, "cross", result.timeframe, windows)
    assert result.holdout == engine.sweep(holdout, [result.parameters], SETTINGS.costs)[0]
    expected = SETTINGS.scoring.backtest_score(result.training, result.holdout, result.timeframe)
    assert result.score == expected


def test_losing_strategy_is_retired_below_the_entry_score(world):
    store, _, _, build = world
    strategy_id = add_strategy(store, "long")
    result = build(market_data(drift=-0.01)).initial(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert result.score < 15
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason.startswith("below_entry")
    assert runs == [result]


def test_strategy_code_error_retires_with_backtest_error(world):
    store, _, _, build = world
    strategy_id = add_strategy(store, "broken")
    assert build().initial(strategy_id) is None

    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason.startswith("backtest_error: strategy code on BTC 4h")
    assert "talib" in strategy.retired_reason
    assert runs == []


def test_engine_error_propagates_and_leaves_the_strategy_validated(world):
    store, _, _, build = world
    strategy_id = add_strategy(store, "wrong_length")  # a signal source breaking its contract
    with pytest.raises(ValueError, match="signals"):
        build().initial(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.VALIDATED
    assert runs == []


def test_missing_market_data_leaves_the_strategy_validated(world):
    store, _, _, build = world
    strategy_id = add_strategy(store, "long")
    with pytest.raises(MarketDataUnavailable):
        build(InMemoryMarketData([])).initial(strategy_id)
    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.VALIDATED
    assert runs == []


def test_history_that_ends_before_the_holdout_is_refused_until_the_windows_end_earlier(world):
    store, clock, source, build = world
    strategy_id = add_strategy(store, "long")
    clock.advance(timedelta(days=90))  # the candles end 60 days after NOW: the holdout is empty
    with pytest.raises(MarketDataUnavailable, match="no 4h candles for any coin in the holdout"):
        build().initial(strategy_id)
    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.VALIDATED and runs == []  # not its fault, nothing scored
    ending_earlier = Backtester(
        InMemoryUnitOfWork(store),
        market_data(),
        source,
        PythonBacktestEngine(),
        clock,
        attrs.evolve(SETTINGS, window_end=NOW),  # backtester.window_end
    )
    result = ending_earlier.initial(strategy_id)
    assert result.holdout_window.end <= NOW and result.holdout.trades > 0


def test_history_that_ends_inside_the_holdout_is_refused_not_scored_on_part_of_it(world):
    store, clock, _, build = world
    strategy_id = add_strategy(store, "long")
    clock.advance(timedelta(days=64))  # the candles end 60 days after NOW: 4 of 10 days missing
    with pytest.raises(MarketDataUnavailable, match=r"history ends at .* before the holdout's end"):
        build().initial(strategy_id)
    assert stored(store, strategy_id)[0].status is Status.VALIDATED


def test_only_validated_strategies_get_an_initial_backtest(world):
    store, _, _, build = world
    strategy_id = add_strategy(store, "long", status=Status.ACTIVE)
    with pytest.raises(IllegalTransition, match="expected VALIDATED"):
        build().initial(strategy_id)


def test_retest_keeps_timeframe_and_parameters_and_rolls_windows_to_now(world):
    store, clock, source, build = world
    strategy_id = add_strategy(store, "long")
    backtester = build()
    first = backtester.initial(strategy_id)
    later = clock.advance(timedelta(days=3))
    source.calls = 0
    second = backtester.retest(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert runs == [first, second]
    assert second.kind is RunKind.RETEST
    assert (second.timeframe, second.parameters) == (first.timeframe, first.parameters)
    assert (second.training_window, second.holdout_window) == SETTINGS.windows(
        later, first.timeframe
    )
    assert source.calls == SETTINGS.coins  # the optimal timeframe only
    assert strategy.status is Status.ACTIVE
    assert strategy.score_backtest == second.score
    assert strategy.last_backtested_at == later


def test_retest_retires_a_strategy_whose_market_turned_against_it(world):
    store, clock, _, build = world
    backtester = build(market_data(crash_after=NOW))
    strategy_id = add_strategy(store, "long")
    assert backtester.initial(strategy_id).score >= 15
    clock.advance(timedelta(days=30))
    second = backtester.retest(strategy_id)

    strategy, _ = stored(store, strategy_id)
    assert second.score < 15
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason.startswith("retest_below_entry")


def test_retest_of_an_original_system_strategy_retires_it_for_its_legacy_interface(world):
    """ACTIVE without execution parameters: only the original system's strategies are."""
    store, _, _, build = world
    strategy_id = add_strategy(store, "long", status=Status.ACTIVE)
    with InMemoryUnitOfWork(store) as uow:
        strategy = uow.strategies.get(strategy_id)
        strategy.timeframe, strategy.execution = Timeframe.H4, None
        uow.strategies.save(strategy)
        uow.commit()
    assert build().retest(strategy_id) is None

    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason.code is Code.LEGACY_INTERFACE
    assert strategy.retired_reason.startswith("legacy_interface: written for the original system")
    assert runs == []


def test_retest_runs_on_the_coins_of_the_initial_backtest_when_the_top_list_changed(world):
    store, clock, source, build = world
    data = RankedMarketData(
        (trending_candles(s, tf, 0.004, seed=n) for n, s in enumerate(("BTC", "ETH", "SOL"))
         for tf in TIMEFRAMES),
        ranking=("SOL", "BTC", "ETH"),
    )  # fmt: skip
    strategy_id = add_strategy(store, "long")
    backtester = build(data)
    backtester.initial(strategy_id)
    data.ranking = ["ETH", "XRP", "BTC", "SOL"]  # a new process, another top list
    clock.advance(timedelta(days=3))
    source.symbols = []
    second = backtester.retest(strategy_id)

    strategy, _ = stored(store, strategy_id)
    assert source.symbols == ["SOL", "BTC"]
    assert strategy.coins == ("SOL", "BTC")
    assert strategy.status is Status.ACTIVE and strategy.score_backtest == second.score


def test_retest_of_a_strategy_without_recorded_coins_uses_the_current_ones(world):
    store, _, source, build = world
    strategy_id = add_strategy(store, "long", status=Status.ACTIVE)
    with InMemoryUnitOfWork(store) as uow:
        strategy = uow.strategies.get(strategy_id)
        strategy.timeframe, strategy.execution = Timeframe.H4, GRID.combinations()[0]
        uow.strategies.save(strategy)
        uow.commit()
    build().retest(strategy_id)
    assert source.symbols == ["BTC", "ETH"]


def test_retest_on_a_coin_no_longer_served_leaves_the_strategy_active(world):
    store, clock, _, build = world
    strategy_id = add_strategy(store, "long")
    first = build().initial(strategy_id)
    clock.advance(timedelta(days=3))
    delisted = InMemoryMarketData(
        trending_candles(s, tf, 0.004) for s in ("ETH", "SOL") for tf in TIMEFRAMES
    )
    with pytest.raises(MarketDataUnavailable, match="BTC"):
        build(delisted).retest(strategy_id)

    strategy, runs = stored(store, strategy_id)
    assert strategy.status is Status.ACTIVE
    assert strategy.coins == ("BTC", "ETH")
    assert runs == [first]
