from datetime import UTC, datetime, timedelta

import pytest

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.kill_switch import KillSwitchControl
from sixbtc.domain.emergency import EmergencyLimits, PortfolioDay
from sixbtc.domain.halt import HaltCause, HaltKind

T0 = datetime(2026, 3, 2, 0, 5, tzinfo=UTC)
LIMITS = EmergencyLimits(max_drawdown=0.20, max_daily_loss=0.05)


def causes(day: PortfolioDay) -> list:
    return [(kind, cause) for kind, cause, _ in day.breaches(LIMITS)]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (950.01, []),
        (950.0, [(HaltKind.HALT, HaltCause.DAILY_LOSS)]),  # 5% exactly: fires
        (800.0, [(HaltKind.FLATTEN, HaltCause.DRAWDOWN), (HaltKind.HALT, HaltCause.DAILY_LOSS)]),
    ],
)
def test_each_stop_fires_at_its_limit(value, expected):
    day = PortfolioDay.first(1000.0, T0, None)
    day.mark(value, T0 + timedelta(hours=1))
    assert causes(day) == expected


def test_the_peak_carries_over_days_and_the_opening_does_not():
    monday = PortfolioDay.first(1000.0, T0, None)
    monday.mark(1100.0, T0 + timedelta(hours=3))
    monday.mark(1000.0, T0 + timedelta(hours=5))
    tuesday = PortfolioDay.first(1000.0, T0 + timedelta(days=1), monday)
    tuesday.mark(880.0, T0 + timedelta(days=1, hours=1))
    assert (tuesday.peak, tuesday.opening) == (1100.0, 1000.0)
    assert tuesday.drawdown == pytest.approx(0.2)
    with pytest.raises(ValueError, match="expected a time on 2026-03-03"):
        tuesday.mark(900.0, T0)


def control() -> tuple[KillSwitchControl, ManualClock]:
    store, clock = InMemoryStore(), ManualClock(T0)
    return KillSwitchControl(lambda: InMemoryUnitOfWork(store), clock, LIMITS), clock


def test_the_daily_loss_stop_fires_once_a_day_and_lifts_at_midnight():
    switch, clock = control()
    assert switch.mark(1000.0).entries_allowed
    clock.advance(timedelta(hours=2))
    halted = switch.mark(940.0)
    (halt,) = halted.halts
    assert (halt.cause, halt.set_by) == (HaltCause.DAILY_LOSS, "executor")
    assert "lost 6.0% since 1000.00" in halt.detail
    switch.resume(OPERATOR)  # lifted by hand: it does not fire again today
    clock.advance(timedelta(hours=1))
    assert switch.mark(900.0).entries_allowed
    switch.halt(OPERATOR, "", HaltKind.HALT)
    clock.set(datetime(2026, 3, 3, 0, 1, tzinfo=UTC))
    after = switch.mark(900.0)
    assert [h.cause for h in after.halts] == [HaltCause.OPERATOR]  # only the operator's stays


def test_a_lifted_drawdown_stop_measures_from_the_value_at_resume():
    switch, clock = control()
    switch.mark(1000.0)
    clock.advance(timedelta(minutes=10))
    assert switch.mark(790.0).flattening
    switch.resume(OPERATOR)
    clock.advance(timedelta(minutes=10))
    assert switch.mark(780.0).entries_allowed  # 1.3% below the new peak, not 22%


OPERATOR = "operator:test"


@pytest.mark.parametrize("seconds", [1, 5, 59])
def test_a_dead_man_delay_shorter_than_a_minute_is_refused_by_name(seconds):
    with pytest.raises(ValueError, match=rf"dead_man_seconds: {seconds}; expected 0 \(off\)"):
        EmergencyLimits(dead_man_seconds=seconds)
    assert EmergencyLimits(dead_man_seconds=60).dead_man_seconds == 60
