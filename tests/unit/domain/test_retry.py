from datetime import UTC, datetime, timedelta

import pytest

from sixbtc.domain.retry import MAX_ERROR_LENGTH, RetryPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_wait_doubles_after_each_failure_in_a_row_up_to_the_longest() -> None:
    policy = RetryPolicy(first=timedelta(minutes=1), longest=timedelta(minutes=10))
    failure, waits = None, []
    for n in range(6):
        now = T0 + timedelta(hours=n)
        failure = policy.after(failure, "database unavailable", now)
        waits.append(failure.retry_after - now)
    assert [w.total_seconds() / 60 for w in waits] == [1, 2, 4, 8, 10, 10]
    assert failure.count == 6 and failure.at == T0 + timedelta(hours=5)


def test_a_long_error_is_cut_and_many_failures_do_not_overflow() -> None:
    policy = RetryPolicy()
    failure = policy.after(None, "x" * 10_000, T0)
    assert len(failure.error) == MAX_ERROR_LENGTH
    for _ in range(100):
        failure = policy.after(failure, "again", T0)
    assert failure.retry_after - T0 == policy.longest


@pytest.mark.parametrize("first, longest", [(0, 5), (10, 5), (-1, 5)])
def test_inconsistent_waits_are_refused(first: int, longest: int) -> None:
    with pytest.raises(ValueError, match="first"):
        RetryPolicy(timedelta(minutes=first), timedelta(minutes=longest))
