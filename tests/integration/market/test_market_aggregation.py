"""Aggregation of 5m bars into the higher timeframes, against a straightforward pandas resample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sixbtc.adapters.market.aggregation import aggregate, bar_ms
from sixbtc.domain.candles import Candles
from sixbtc.domain.timeframe import Timeframe

STEP = bar_ms(Timeframe.M5)
HIGHER = [tf for tf in Timeframe if tf is not Timeframe.M5]


def random_bars(seed: int, slots: int, start_slot: int, keep: float) -> Candles:
    """Random 5m bars on ``slots`` consecutive 5m slots, each present with probability ``keep``."""
    rng = np.random.default_rng(seed)
    slot = start_slot + np.flatnonzero(rng.random(slots) < keep)
    if len(slot) == 0:
        slot = np.array([start_slot])
    n = len(slot)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * (1 + rng.random(n) * 0.01)
    low = np.minimum(open_, close) * (1 - rng.random(n) * 0.01)
    volume = rng.random(n) * 1000
    return Candles("X", Timeframe.M5, slot * STEP, open_, high, low, close, volume)


def pandas_reference(base: Candles, timeframe: Timeframe) -> pd.DataFrame:
    frame = pd.DataFrame(
        {name: getattr(base, name) for name in ("open", "high", "low", "close", "volume")},
        index=pd.to_datetime(base.time, unit="ms", utc=True),
    )
    rule = pd.Timedelta(minutes=timeframe.minutes)
    result = frame.resample(rule, origin="epoch", label="left", closed="left").agg(
        {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    )
    result = result[frame["open"].resample(rule, origin="epoch").count() > 0]
    start_ms = result.index.as_unit("ms").asi8
    step = bar_ms(timeframe)
    complete = (start_ms >= base.time[0]) & (start_ms + step <= base.time[-1] + STEP)
    return result[complete]


@given(
    seed=st.integers(0, 2**32 - 1),
    slots=st.integers(1, 1500),
    start_slot=st.integers(5_000_000, 5_100_000),
    keep=st.sampled_from([1.0, 0.97, 0.6, 0.1]),
)
def test_aggregation_equals_pandas_resample(seed, slots, start_slot, keep):
    base = random_bars(seed, slots, start_slot, keep)
    for timeframe in HIGHER:
        ours = aggregate(base, timeframe)
        reference = pandas_reference(base, timeframe)
        assert ours.timeframe is timeframe
        np.testing.assert_array_equal(ours.time, reference.index.as_unit("ms").asi8)
        for name in ("open", "high", "low", "close"):
            np.testing.assert_array_equal(getattr(ours, name), reference[name].to_numpy())
        np.testing.assert_allclose(ours.volume, reference["volume"].to_numpy(), rtol=1e-12)


@given(seed=st.integers(0, 1000), cut=st.integers(1, 600))
def test_no_partial_candle_is_returned(seed, cut):
    day = 86_400_000
    full = random_bars(seed, 3 * 288, 20_000 * 288, 1.0)  # three whole UTC days
    base = full.slice(0, cut)
    known_until = int(base.time[-1]) + STEP
    for timeframe in HIGHER:
        step = bar_ms(timeframe)
        ours = aggregate(base, timeframe)
        assert np.all(ours.time + step <= known_until)
        assert np.all(ours.time % step == 0)
        closed_buckets = (known_until - int(base.time[0])) // step
        assert len(ours) == closed_buckets
        if timeframe is Timeframe.D1:
            assert np.all(ours.time % day == 0)


def test_hour_candle_appears_only_when_its_last_bar_closes():
    full = random_bars(7, 24, 12 * 5_000, 1.0)  # 11:00-12:55 style: two full hours
    first_hour = full.slice(0, 11)
    assert len(aggregate(first_hour, Timeframe.H1)) == 0
    complete = aggregate(full.slice(0, 12), Timeframe.H1)
    assert len(complete) == 1
    assert complete.close[0] == full.close[11]
    assert complete.open[0] == full.open[0]


def test_bucket_with_gap_uses_the_bars_present_and_empty_bucket_is_absent():
    base = random_bars(3, 36, 12 * 7_000, 1.0)  # three whole hours
    keep = np.r_[0:5, 7:12, 24:36]  # hour 1 misses two bars, hour 2 is empty
    fields = ("time", "open", "high", "low", "close", "volume")
    gappy = Candles("X", Timeframe.M5, *(getattr(base, f)[keep] for f in fields))
    hours = aggregate(gappy, Timeframe.H1)
    assert list(hours.time) == [base.time[0], base.time[24]]
    assert hours.volume[0] == pytest.approx(gappy.volume[:10].sum(), rel=1e-12)
    assert hours.high[0] == gappy.high[:10].max()


def test_explicit_known_until_drops_the_forming_bar():
    base = random_bars(5, 12, 12 * 9_000, 1.0)
    assert len(aggregate(base, Timeframe.M5, known_until=int(base.time[-1]))) == 11
    assert len(aggregate(base, Timeframe.H1, known_until=int(base.time[-1]))) == 0
