"""The ActivePool's rules on hand-made examples: thresholds, ties, unscored members, bad scores."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from tests.factories import T0

from sixbtc.domain.errors import PoolError
from sixbtc.domain.pool import Action, ActivePool
from sixbtc.domain.strategy import Standing


def member(score: float | None, n: int, at=T0) -> Standing:
    return Standing(uuid.UUID(int=n), score, None if score is None else at)


def outcome(decisions) -> list[tuple[int, str, str]]:
    return [(d.strategy_id.int, str(d.action), d.reason_code) for d in decisions]


def test_score_15_enters_and_14_999_does_not():
    pool = ActivePool(10, 15.0)
    assert outcome(pool.admit(member(15.0, 1))) == [(1, "admit", "")]
    assert outcome(pool.admit(member(14.999, 2))) == [(2, "retire", "below_entry")]


def test_full_pool_evicts_the_worst_and_rejects_a_score_equal_to_it():
    pool = ActivePool(2, 15.0, [member(20.0, 1), member(30.0, 2)])
    assert outcome(pool.admit(member(20.0, 3))) == [(3, "retire", "pool_full")]
    assert outcome(pool.admit(member(20.001, 4))) == [(1, "retire", "evicted"), (4, "admit", "")]


def test_on_equal_scores_the_older_backtest_then_the_smaller_id_goes_first():
    old, new = T0, T0 + timedelta(days=1)
    pool = ActivePool(3, 15.0, [member(20.0, 1, at=new), member(20.0, 9, at=old), member(20.0, 2)])
    # 9 and 2 share the older backtest; 2 has the smaller id
    assert pool.worst().strategy_id.int == 2
    assert outcome(pool.admit(member(21.0, 5)))[0] == (2, "retire", "evicted")
    assert outcome(pool.admit(member(21.0, 6)))[0] == (9, "retire", "evicted")


def test_rescore_retires_below_entry_and_below_the_rest_only_while_full():
    pool = ActivePool(3, 15.0, [member(20.0, 1), member(30.0, 2), member(40.0, 3)])
    assert outcome([pool.rescore(member(14.999, 3))]) == [(3, "retire", "retest_below_entry")]
    pool = ActivePool(3, 15.0, [member(20.0, 1), member(30.0, 2), member(40.0, 3)])
    assert outcome([pool.rescore(member(20.0, 3))]) == [(3, "keep", "")]  # equal to the rest's min
    assert outcome([pool.rescore(member(19.999, 3))]) == [(3, "retire", "retest_below_pool_min")]
    assert outcome([pool.rescore(member(15.0, 1))]) == [(1, "keep", "")]  # not full any more


def test_unscored_members_are_never_the_worst():
    # a migrated pool: members without a score wait for their re-backtest
    pool = ActivePool(3, 15.0, [member(None, 1), member(20.0, 2), member(40.0, 3)])
    assert pool.worst().strategy_id.int == 2
    assert outcome(pool.admit(member(30.0, 4))) == [(2, "retire", "evicted"), (4, "admit", "")]
    # the rest's minimum is 30 (scored), not the unscored member
    assert outcome([pool.rescore(member(25.0, 3))]) == [(3, "retire", "retest_below_pool_min")]


def test_a_full_pool_of_unscored_members_rejects_the_candidate():
    pool = ActivePool(2, 15.0, [member(None, 1), member(None, 2)])
    decisions = pool.admit(member(99.0, 3))
    assert outcome(decisions) == [(3, "retire", "pool_full")]
    assert "no scored member" in decisions[0].reason
    assert len(pool) == 2


def test_admission_first_brings_an_over_capacity_pool_back_to_its_size():
    # as after lowering active_pool.max_size from 4 to 2
    pool = ActivePool(2, 15.0, [member(v, n) for n, v in enumerate((20.0, 30.0, 40.0, 50.0), 1)])
    decisions = pool.admit(member(45.0, 5))
    assert outcome(decisions) == [
        (1, "retire", "pool_trim"),
        (2, "retire", "pool_trim"),
        (3, "retire", "evicted"),
        (5, "admit", ""),
    ]
    assert [s.strategy_id.int for s in pool.members()] == [4, 5]


def test_admission_retires_members_below_a_raised_entry_score():
    pool = ActivePool(5, 25.0, [member(20.0, 1), member(30.0, 2)])
    assert outcome(pool.admit(member(26.0, 3))) == [(1, "retire", "below_entry"), (3, "admit", "")]


@pytest.mark.parametrize("score", [None, float("nan")])
def test_a_missing_or_nan_score_cannot_be_ranked(score):
    pool = ActivePool(2, 15.0, [member(20.0, 1)])
    with pytest.raises(PoolError, match="expected a number"):
        pool.admit(Standing(uuid.UUID(int=2), score, T0))
    with pytest.raises(PoolError, match="expected a number"):
        pool.rescore(Standing(uuid.UUID(int=1), score, T0))
    assert len(pool) == 1


def test_membership_errors():
    pool = ActivePool(2, 15.0, [member(20.0, 1)])
    with pytest.raises(PoolError, match="already in the pool"):
        pool.admit(member(30.0, 1))
    with pytest.raises(PoolError, match="not in the pool"):
        pool.rescore(member(30.0, 7))
    with pytest.raises(PoolError, match="listed twice"):
        ActivePool(2, 15.0, [member(20.0, 1), member(25.0, 1)])
    (decision,) = pool.admit(member(1.0, 3))
    assert decision.action is Action.RETIRE
    with pytest.raises(PoolError, match="retired"):
        pool.admit(member(90.0, 3))


def test_would_admit_answers_as_admit_decides_and_changes_nothing():
    pool = ActivePool(2, 15.0, [member(20.0, 1), member(30.0, 2)])
    assert not pool.would_admit(14.0)  # below entry
    assert not pool.would_admit(20.0)  # full: not above the minimum
    assert pool.would_admit(20.001)
    assert len(pool) == 2 and pool.worst().score == 20.0
    assert ActivePool(3, 15.0, [member(20.0, 1)]).would_admit(15.0)
