from datetime import UTC, datetime

import numpy as np

from sixbtc.application.validate import random_walk


def test_validation_candles_look_like_recent_market_hours():
    for seed in range(50):
        candles = random_walk(500, seed)
        first = datetime.fromtimestamp(candles.time[0] / 1000, UTC)
        last = datetime.fromtimestamp(candles.time[-1] / 1000, UTC)
        assert datetime(2020, 1, 1, tzinfo=UTC) < first < last < datetime(2026, 1, 1, tzinfo=UTC)
        assert np.all(np.diff(candles.time) == 3_600_000)
        assert candles.time[-1] % 3_600_000 == 0


def test_validation_candles_are_reproducible_and_differ_by_seed():
    assert np.array_equal(random_walk(100, 7).close, random_walk(100, 7).close)
    assert random_walk(100, 7).time[-1] != random_walk(100, 8).time[-1]
