import attrs
import hypothesis.strategies as st
import pytest
from hypothesis import given

from sixbtc.domain.metrics import Metrics
from sixbtc.domain.scoring import ScoringPolicy, ScoringWeights, degradation
from sixbtc.domain.timeframe import Timeframe

policy = ScoringPolicy()
finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
fractions = st.floats(min_value=0.0, max_value=1.0)
metrics_strategy = st.builds(
    Metrics,
    total_return=finite,
    sharpe=finite,
    max_drawdown=fractions,
    win_rate=fractions,
    expectancy=finite,
    profit_factor=st.floats(min_value=0.0, max_value=1e3),
    trades=st.integers(min_value=0, max_value=10_000),
)


def m(**fields) -> Metrics:
    base = dict(
        total_return=0.0,
        sharpe=0.0,
        max_drawdown=0.0,
        win_rate=0.0,
        expectancy=0.0,
        profit_factor=0.0,
        trades=100,
    )
    return Metrics(**{**base, **fields})


@given(metrics_strategy, finite)
def test_score_is_within_0_and_100(metrics, deg):
    assert 0.0 <= policy.score(metrics, deg) <= 100.0


@pytest.mark.parametrize("field", ["expectancy", "sharpe", "win_rate"])
@given(metrics=metrics_strategy, deg=finite, bump=st.floats(min_value=0, max_value=10))
def test_score_never_falls_when_a_good_metric_rises(field, metrics, deg, bump):

    value = getattr(metrics, field)
    raised = min(value + bump, 1.0) if field == "win_rate" else value + bump
    better = attrs.evolve(metrics, **{field: raised})
    assert policy.score(better, deg) >= policy.score(metrics, deg) - 1e-12


@given(metrics=metrics_strategy, deg=finite, bump=st.floats(min_value=0, max_value=1))
def test_score_never_rises_with_drawdown_or_degradation(metrics, deg, bump):

    worse_dd = attrs.evolve(metrics, max_drawdown=min(1.0, metrics.max_drawdown + bump))
    assert policy.score(worse_dd, deg) <= policy.score(metrics, deg) + 1e-12
    assert policy.score(metrics, deg + bump) <= policy.score(metrics, deg) + 1e-12


def test_formula_on_a_hand_computed_case():
    metrics = m(expectancy=0.05, sharpe=1.5, win_rate=0.6, max_drawdown=0.15)
    # 0.40*0.5 + 0.25*0.5 + 0.10*0.6 + 0.15*0.5 + 0.10*clip(0.5-0.2) = 0.49
    assert policy.score(metrics, 0.2) == pytest.approx(49.0)


def test_perfect_and_worthless_strategies():
    assert policy.score(m(expectancy=1, sharpe=10, win_rate=1, max_drawdown=0), -0.5) == 100.0
    assert policy.score(m(expectancy=-1, sharpe=-3, win_rate=0, max_drawdown=0.5), 2.0) == 0.0


def test_backtest_score_weights_holdout_60_percent():
    training = m(expectancy=0.10, sharpe=2.0, win_rate=0.5, max_drawdown=0.1, trades=40)
    holdout = m(expectancy=0.0, sharpe=1.0, win_rate=0.5, max_drawdown=0.2, trades=10)
    weighted = m(expectancy=0.04, sharpe=1.4, win_rate=0.5, max_drawdown=0.16, trades=50)
    expected = policy.score(weighted, degradation(2.0, 1.0))
    assert policy.backtest_score(training, holdout, Timeframe.H1) == pytest.approx(expected)


def test_too_few_trades_for_the_timeframe_scores_zero():
    strict = ScoringPolicy(min_trades={Timeframe.M5: 50})
    good = m(expectancy=0.1, sharpe=3, win_rate=1, trades=24)
    assert strict.backtest_score(good, good, Timeframe.M5) == 0.0
    assert strict.backtest_score(attrs.evolve(good, trades=26), good, Timeframe.M5) > 0


def test_degradation_is_the_relative_fall_of_the_sharpe_and_full_below_a_zero_reference():
    assert degradation(2.0, 1.0) == 0.5
    assert degradation(-1.0, -2.0) == 1.0
    assert degradation(0.0, 1.0) == 0.0
    assert degradation(0.0, -0.1) == 1.0


def test_weights_must_sum_to_one():
    with pytest.raises(ValueError, match="sum to"):
        ScoringWeights(expectancy=0.5)


def test_training_score_has_no_degradation_and_needs_the_minimum_trades():
    strict = ScoringPolicy(min_trades={Timeframe.M5: 50})
    metrics = m(expectancy=0.05, sharpe=1.5, win_rate=0.6, max_drawdown=0.15, trades=50)
    # 0.40*0.5 + 0.25*0.5 + 0.10*0.6 + 0.15*0.5 + 0.10*0.5 = 0.51
    assert strict.training_score(metrics, Timeframe.M5) == pytest.approx(51.0)
    assert strict.training_score(attrs.evolve(metrics, trades=49), Timeframe.M5) == 0.0


def test_live_score_measures_degradation_against_the_backtest_sharpe():
    live = m(expectancy=0.05, sharpe=1.0, win_rate=0.6, max_drawdown=0.15)
    # 0.40*0.5 + 0.25*(1/3) + 0.10*0.6 + 0.15*0.5 = 0.418333...; recency adds 0.10*clip(0.5 - deg)
    assert policy.live_score(live, backtest_sharpe=2.0) == pytest.approx(41.8333333)  # deg 0.5
    assert policy.live_score(live, backtest_sharpe=1.0) == pytest.approx(46.8333333)  # deg 0
    assert policy.live_score(live, backtest_sharpe=0.5) == pytest.approx(51.8333333)  # deg -1


SATURATION = {  # each term's clip, in the metric's own units (default bounds)
    "expectancy": (0.0, 0.10),
    "sharpe": (0.0, 3.0),
    "max_drawdown": (0.0, 0.30),
}


@pytest.mark.parametrize("field", sorted(SATURATION))
@given(metrics=metrics_strategy, deg=finite)
def test_a_metric_counts_only_within_its_bounds(field, metrics, deg):
    low, high = SATURATION[field]
    clipped = attrs.evolve(metrics, **{field: min(high, max(low, getattr(metrics, field)))})
    assert policy.score(metrics, deg) == pytest.approx(policy.score(clipped, deg), abs=1e-9)


@given(metrics=metrics_strategy, deg=finite)
def test_degradation_counts_only_within_its_bounds(metrics, deg):
    # recency = clip(0.5 - degradation, 0, 1): degradation beyond [-0.5, 0.5] changes nothing
    clipped = min(0.5, max(-0.5, deg))
    assert policy.score(metrics, deg) == pytest.approx(policy.score(metrics, clipped), abs=1e-9)
