"""The research-validity gates: deflated Sharpe, permutation p-value, trade counts."""

import math

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given

from sixbtc.domain.metrics import Metrics, sharpe_ratio
from sixbtc.domain.robustness import (
    DeflatedSharpe,
    PermutationTest,
    ReturnMoments,
    RobustnessPolicy,
    expected_maximum_sharpe,
    probabilistic_sharpe,
)


def normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_moments_of_a_known_series():
    returns = np.array([0.01, -0.02, 0.03, 0.0, 0.05])
    mean = 0.014
    deviations = returns - mean
    std = math.sqrt(sum(d * d for d in deviations) / 5)
    moments = ReturnMoments.of(returns)
    assert moments.count == 5
    assert moments.sharpe == pytest.approx(mean / std)
    assert moments.skewness == pytest.approx(sum(d**3 for d in deviations) / 5 / std**3)
    assert moments.kurtosis == pytest.approx(sum(d**4 for d in deviations) / 5 / std**4)


def test_equity_moments_match_the_annualised_sharpe_per_bar():
    rng = np.random.default_rng(1)
    equity = np.cumprod(np.r_[1.0, 1.0 + rng.normal(0.001, 0.01, 500)])
    moments = ReturnMoments.of_equity(equity)
    assert moments.count == 500
    assert moments.sharpe * math.sqrt(8760) == pytest.approx(sharpe_ratio(equity, 8760))


def test_a_flat_series_has_no_sharpe_and_a_normal_shape():
    assert ReturnMoments.of(np.zeros(10)) == ReturnMoments(0.0, 10, 0.0, 3.0)


def test_probabilistic_sharpe_step_by_step():
    moments = ReturnMoments(sharpe=0.05, count=1000, skewness=-0.5, kurtosis=6.0)
    spread = 1 - (-0.5) * 0.05 + (6.0 - 1) / 4 * 0.05**2
    expected = normal_cdf((0.05 - 0.01) * math.sqrt(999) / math.sqrt(spread))
    assert probabilistic_sharpe(moments, 0.01) == pytest.approx(expected, rel=1e-9)


def test_expected_maximum_sharpe_step_by_step():
    inverse = {0.975: 1.959963984540054}  # Zinv(0.975), a table value
    far = 1 - 1 / (40 * math.e)
    step = (1 - 0.5772156649015329) * inverse[0.975] + 0.5772156649015329 * (
        math.sqrt(2) * _erfinv(2 * far - 1)
    )
    assert expected_maximum_sharpe(40, 0.0004) == pytest.approx(0.02 * step, rel=1e-6)


def _erfinv(y: float) -> float:
    """Inverse error function by bisection (independent of NormalDist)."""
    lo, hi = -6.0, 6.0
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if math.erf(mid) < y else (lo, mid)
    return (lo + hi) / 2


def test_the_papers_numerical_example():
    """Bailey and Lopez de Prado's example: annualised SR 2.5 on 1,250 daily returns (250 a
    year), skewness -3, kurtosis 10, 100 trials whose annualised Sharpe ratios have variance 0.5:
    DSR about 0.90 (the formulas; the gate's own variance is the null's, below)."""
    per_bar = 2.5 / math.sqrt(250)
    moments = ReturnMoments(per_bar, 1250, -3.0, 10.0)
    benchmark = expected_maximum_sharpe(100, 0.5 / 250)
    assert benchmark * math.sqrt(250) == pytest.approx(1.789, abs=0.002)
    assert probabilistic_sharpe(moments, benchmark) == pytest.approx(0.9004, abs=0.0005)


def test_one_trial_deflates_against_zero():
    moments = ReturnMoments(0.02, 5000)
    assert expected_maximum_sharpe(1, 0.1) == 0.0
    assert DeflatedSharpe.of(moments, 1).value == probabilistic_sharpe(moments, 0.0)


def test_trials_vary_like_sharpe_estimates_on_noise():
    """The benchmark is the best of the trials if none had skill: each per-bar Sharpe estimated on
    the chosen configuration's returns, variance 1 / returns, whatever the trials' own spread."""
    moments = ReturnMoments(0.02, 10_000)
    deflated = DeflatedSharpe.of(moments, 600)
    assert deflated.benchmark == pytest.approx(expected_maximum_sharpe(600, 1 / 10_000))
    assert deflated.value == pytest.approx(probabilistic_sharpe(moments, deflated.benchmark))
    assert deflated.trials == 600


def test_a_year_of_any_timeframe_needs_the_same_annualised_sharpe():
    """On a year of bars the bar is the same annualised Sharpe whatever the timeframe (the null's
    sampling variance of an annualised Sharpe is 1 / years): about 3.4 for 1,800 trials."""
    bars = {"5m": 105_120, "1h": 8_760, "1d": 365}
    bench = {
        name: DeflatedSharpe.of(ReturnMoments(0.0, n), 1800).benchmark * math.sqrt(n)
        for name, n in bars.items()
    }
    assert bench["5m"] == pytest.approx(3.4, abs=0.05)
    assert bench["1h"] == pytest.approx(bench["5m"]) and bench["1d"] == pytest.approx(bench["5m"])


def test_noise_rarely_passes_a_deflated_sharpe_of_095():
    """1,800 trials of zero-skill returns: the best one's DSR stays below 0.95 in at least 99 of
    100 repetitions (independent trials, the hardest case for the gate)."""
    rng = np.random.default_rng(11)
    passed = 0
    for _ in range(100):
        returns = rng.standard_t(5, size=(1800, 365)) * 0.01
        sharpes = returns.mean(axis=1) / returns.std(axis=1)
        best = returns[int(np.argmax(sharpes))]
        passed += DeflatedSharpe.of(ReturnMoments.of(best), 1800).value >= 0.95
    assert passed <= 1


def test_a_real_edge_passes_after_the_search():
    """Returns with an annualised Sharpe of 6 over a year of hourly bars pass after 1,800 trials."""
    rng = np.random.default_rng(5)
    returns = rng.normal(6 / math.sqrt(8760) * 0.01, 0.01, 8760)
    assert DeflatedSharpe.of(ReturnMoments.of(returns), 1800).value > 0.95


sharpes = st.floats(min_value=-0.2, max_value=0.2)


@given(sharpes, sharpes, st.integers(2, 10_000))
def test_probabilistic_sharpe_rises_with_the_observed_sharpe(a, b, count):
    low, high = sorted((a, b))
    psr = [probabilistic_sharpe(ReturnMoments(s, count), 0.0) for s in (low, high)]
    assert psr[0] <= psr[1]


@given(st.integers(1, 100_000), st.integers(1, 100_000), st.floats(1e-8, 1.0))
def test_more_trials_raise_the_bar(a, b, variance):
    few, many = sorted((a, b))
    assert expected_maximum_sharpe(few, variance) <= expected_maximum_sharpe(many, variance)


@given(st.integers(1, 5000), st.integers(1, 5000))
def test_more_trials_deflate_more(a, b):
    moments = ReturnMoments(0.05, 2000)
    few, many = sorted((a, b))
    assert DeflatedSharpe.of(moments, many).value <= DeflatedSharpe.of(moments, few).value


@given(st.floats(-10, 10), st.lists(st.floats(-10, 10), max_size=50))
def test_a_complete_permutation_test_counts_ties_as_at_least_as_good(real, permuted):
    test = PermutationTest(real, len(permuted), failing_hits=len(permuted) + 1)
    for value in permuted:
        test.add(value)
    assert test.finished and not test.stopped_early
    assert test.p_value == (1 + sum(v >= real for v in permuted)) / (1 + len(permuted))
    assert 1 / (1 + len(permuted)) <= test.p_value <= 1


def test_the_permutation_test_stops_once_it_must_fail():
    """99 planned at p <= 0.05: five as-good permuted scores fail the gate whatever follows
    (6/100 > 0.05), so the test stops at the fifth, p = 5 / permutations done (Besag-Clifford)."""
    policy = RobustnessPolicy()
    test = policy.permutation_test(5.0)
    assert (test.planned, test.failing_hits) == (99, 5)
    for value in [6.0, 1.0, 5.0, 7.0, 1.0, 1.0, 9.0, 5.0]:
        test.add(value)
    assert test.finished and test.stopped_early
    assert test.p_value == pytest.approx(5 / 8)
    assert policy.permutation_problem(test) == (
        "permutation: p 0.625 (5 of 8 permutations scored as well, stopped early of 99) > 0.05"
    )
    with pytest.raises(ValueError, match="finished"):
        test.add(1.0)


def test_the_permutation_test_passes_at_its_floor():
    policy = RobustnessPolicy()
    test = policy.permutation_test(5.0)
    for value in [1.0] * 95 + [5.0] * 4:
        assert not test.finished
        test.add(value)
    assert test.finished and test.p_value == pytest.approx(5 / 100)
    assert policy.permutation_problem(test) is None
    assert str(test) == "p 0.050 (4 of 99 permutations scored as well)"


@pytest.mark.parametrize(
    ("planned", "max_p", "failing"), [(20, 0.05, 1), (99, 0.05, 5), (19, 1.0, 20)]
)
def test_the_failing_count_is_the_first_that_exceeds_the_threshold(planned, max_p, failing):
    test = RobustnessPolicy(max_permutation_p=max_p, permutations=planned).permutation_test(0.0)
    assert test.failing_hits == failing
    assert (failing + 1) / (planned + 1) > max_p >= failing / (planned + 1) or failing > planned


def metrics(trades: int) -> Metrics:
    return Metrics(0.1, 1.0, 0.05, 0.5, 0.01, 1.5, trades)


def test_trade_count_gates_name_the_window_and_the_figures():
    policy = RobustnessPolicy()
    assert policy.trade_counts_problem(metrics(12), metrics(9)) == "min_trades_training: 12 < 30"
    assert policy.trade_counts_problem(metrics(30), metrics(2)) == "min_trades_holdout: 2 < 5"
    assert policy.trade_counts_problem(metrics(30), metrics(5)) is None


def test_deflated_sharpe_gate_reports_its_figures():
    deflated = DeflatedSharpe(0.41, ReturnMoments(0.012, 8760, -0.2, 5.1), 1800, 0.02)
    assert RobustnessPolicy().deflated_sharpe_problem(deflated) == (
        "deflated_sharpe: 0.410 < 0.95 (sharpe/bar 0.012, expected max/bar 0.02, trials 1800, "
        "returns 8760, skew -0.20, kurtosis 5.10)"
    )
    passing = DeflatedSharpe(0.95, ReturnMoments(0.05, 8760), 1800, 0.02)
    assert RobustnessPolicy().deflated_sharpe_problem(passing) is None


def test_too_few_permutations_to_ever_pass_are_refused():
    with pytest.raises(ValueError, match=r"permutations: 10; .* expected >= 19"):
        RobustnessPolicy(permutations=10)
    assert not RobustnessPolicy(permutations=0, max_permutation_p=1.0).permutation_enabled
    with pytest.raises(ValueError, match=r"min_deflated_sharpe: 1\.5"):
        RobustnessPolicy(min_deflated_sharpe=1.5)
