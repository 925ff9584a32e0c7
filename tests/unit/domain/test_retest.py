import uuid
from datetime import timedelta

from tests.factories import T0

from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.strategy import Standing

schedule = RetestSchedule()


def standing(last, sid=None):
    return Standing(sid or uuid.uuid4(), 20.0, last)


def test_due_exactly_three_days_after_the_last_backtest():
    s = standing(T0)
    assert not schedule.is_due(s, T0 + timedelta(days=3) - timedelta(seconds=1))
    assert schedule.is_due(s, T0 + timedelta(days=3))


def test_never_backtested_is_due_at_once_and_first():
    never = standing(None)
    old = standing(T0 - timedelta(days=10))
    assert schedule.due([old, never], T0, limit=5) == [never, old]


def test_oldest_first_then_smaller_id_and_limited():
    a = standing(T0 - timedelta(days=5), uuid.UUID(int=2))
    b = standing(T0 - timedelta(days=5), uuid.UUID(int=1))
    c = standing(T0 - timedelta(days=9))
    fresh = standing(T0 - timedelta(days=1))
    assert schedule.due([a, b, c, fresh], T0, limit=10) == [c, b, a]
    assert schedule.due([a, b, c, fresh], T0, limit=2) == [c, b]
