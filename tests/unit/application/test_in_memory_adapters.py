import uuid
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import given
from tests.factories import T0, make_strategy

from sixbtc.adapters.clock import ManualClock, SystemClock
from sixbtc.adapters.memory import (
    InMemoryMarketData,
    InMemoryStore,
    InMemoryUnitOfWork,
)
from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.domain.candles import Candles
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe


def test_market_data_serves_the_requested_range():
    start_ms = int(T0.timestamp() * 1000)
    times = start_ms + np.arange(10) * 3_600_000
    prices = np.linspace(1, 2, 10)
    series = Candles("BTC", Timeframe.H1, times, prices, prices, prices, prices, prices)
    market = InMemoryMarketData([series])
    got = market.candles("BTC", Timeframe.H1, T0 + timedelta(hours=2), T0 + timedelta(hours=5))
    assert list(got.time) == list(times[2:5])
    with pytest.raises(MarketDataUnavailable, match="ETH"):
        market.candles("ETH", Timeframe.H1, T0, T0 + timedelta(hours=1))


def test_candles_refuse_unordered_times():
    with pytest.raises(ValueError, match="strictly increase"):
        Candles("BTC", Timeframe.H1, [2, 1], [1, 1], [1, 1], [1, 1], [1, 1], [1, 1])


def test_manual_clock_only_moves_forward():
    clock = ManualClock(T0)
    assert clock.advance(timedelta(minutes=15)) == T0 + timedelta(minutes=15)
    with pytest.raises(ValueError, match="negative"):
        clock.advance(timedelta(seconds=-1))


def test_manual_clock_refuses_a_naive_start_and_a_jump_back():
    with pytest.raises(ValueError, match="naive"):
        ManualClock(datetime(2026, 1, 1))
    clock = ManualClock(T0)
    clock.set(T0 + timedelta(days=3))
    assert clock.now() == T0 + timedelta(days=3)
    with pytest.raises(ValueError, match="never goes back"):
        clock.set(T0)


def test_system_clock_tells_aware_utc_time():
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert before <= now <= datetime.now(UTC)


@given(
    st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=10)), min_size=1, max_size=12),
    st.integers(min_value=0, max_value=12),
)
def test_in_memory_retest_claims_follow_the_retest_schedule(days_ago, limit):
    schedule = RetestSchedule(timedelta(days=3))
    now = T0 + timedelta(days=10)
    store = InMemoryStore()
    with InMemoryUnitOfWork(store) as uow:
        for n, ago in enumerate(days_ago):
            score = None if ago is None else 20.0
            when = None if ago is None else now - timedelta(days=ago)
            uow.strategies.add(
                make_strategy(
                    Status.ACTIVE,
                    score=score,
                    last_backtested_at=when,
                    strategy_id=uuid.UUID(int=100 - n),  # ids against creation order
                )
            )
        uow.commit()
    with InMemoryUnitOfWork(store) as uow:
        expected = schedule.due(uow.strategies.standings(), now, limit)
        claimed = uow.claims.claim_due_for_retest(
            schedule.cutoff(now), limit, "worker", now, timedelta(minutes=5)
        )
    assert [s.id for s in claimed] == [s.strategy_id for s in expected]
