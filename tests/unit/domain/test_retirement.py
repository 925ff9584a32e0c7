import hypothesis.strategies as st
import pytest
from hypothesis import given

from sixbtc.domain.retirement import LiveRecord, RetirementPolicy

policy = RetirementPolicy()


def record(score_live=60.0, score_backtest=60.0, drawdown=0.0, trades=10):
    return LiveRecord(score_live, score_backtest, drawdown, trades)


def test_live_score_30_is_kept_and_29_999_retired():
    assert policy.reason_to_retire(record(score_live=30.0, score_backtest=40.0)) is None
    reason = policy.reason_to_retire(record(score_live=29.999, score_backtest=40.0))
    assert reason is not None and reason.startswith("live_score:")


def test_degradation_threshold_is_strict():
    assert policy.reason_to_retire(record(score_live=40.0, score_backtest=80.0)) is None
    reason = policy.reason_to_retire(record(score_live=39.99, score_backtest=80.0))
    assert reason is not None and reason.startswith("degradation:")


def test_score_rules_wait_for_the_minimum_trade_count():
    assert policy.reason_to_retire(record(score_live=1.0, trades=9)) is None
    assert policy.reason_to_retire(record(score_live=1.0, trades=10)) is not None


@pytest.mark.parametrize("trades", [0, 1, 9, 10, 500])
def test_drawdown_applies_whatever_the_trade_count(trades):
    assert policy.reason_to_retire(record(drawdown=0.30, trades=trades)) is None
    reason = policy.reason_to_retire(record(drawdown=0.3001, trades=trades))
    assert reason is not None and reason.startswith("drawdown:")


@given(
    score_live=st.floats(0, 100),
    score_backtest=st.floats(0, 100),
    drawdown=st.floats(0, 1),
    trades=st.integers(0, 100),
)
def test_verdict_follows_the_rules(score_live, score_backtest, drawdown, trades):
    r = LiveRecord(score_live, score_backtest, drawdown, trades)
    degraded = score_backtest > 0 and (score_backtest - score_live) / score_backtest > 0.5
    expected = drawdown > 0.30 or (trades >= 10 and (score_live < 30 or degraded))
    assert (policy.reason_to_retire(r) is not None) == expected


@given(score=st.floats(30, 100), better=st.floats(0, 50), trades=st.integers(10, 100))
def test_a_better_live_score_never_causes_retirement(score, better, trades):
    base = record(score_live=score, score_backtest=score, trades=trades)
    improved = record(score_live=min(100.0, score + better), score_backtest=score, trades=trades)
    if policy.reason_to_retire(base) is None:
        assert policy.reason_to_retire(improved) is None
