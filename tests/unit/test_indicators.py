"""The indicator helpers strategies import: causal, NaN until their window is full, and right on
small known cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sixbtc import indicators as ta

rng = np.random.default_rng(7)
CLOSE = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 400))))
HIGH, LOW = CLOSE * 1.01, CLOSE * 0.99
VOLUME = pd.Series(rng.uniform(1, 5, 400))
CALLS = {
    "atr": lambda n: ta.atr(HIGH[:n], LOW[:n], CLOSE[:n], 14),
    "bollinger": lambda n: ta.bollinger(CLOSE[:n], 20, 2.0)[2],
    "cci": lambda n: ta.cci(HIGH[:n], LOW[:n], CLOSE[:n], 20),
    "donchian": lambda n: ta.donchian(HIGH[:n], LOW[:n], 20)[1],
    "keltner": lambda n: ta.keltner(HIGH[:n], LOW[:n], CLOSE[:n], 20, 2.0)[0],
    "macd": lambda n: ta.macd(CLOSE[:n])[2],
    "obv_slope": lambda n: ta.obv_slope(CLOSE[:n], VOLUME[:n], 20),
    "stochastic": lambda n: ta.stochastic(HIGH[:n], LOW[:n], CLOSE[:n])[1],
    "true_range": lambda n: ta.true_range(HIGH[:n], LOW[:n], CLOSE[:n]),
    "volume_ratio": lambda n: ta.volume_ratio(VOLUME[:n], 20),
    "williams_r": lambda n: ta.williams_r(HIGH[:n], LOW[:n], CLOSE[:n]),
}
SERIES_HELPERS = [name for name in ta.__all__ if name != "ewm_warmup"]


def _call(name: str, bars: int) -> np.ndarray:
    call = CALLS.get(name, lambda n: getattr(ta, name)(CLOSE[:n], 10))
    return np.asarray(call(bars), dtype=float)


def test_every_helper_is_exercised():
    assert set(CALLS) <= set(SERIES_HELPERS)


@pytest.mark.parametrize("name", SERIES_HELPERS)
def test_helper_is_causal(name):
    """The value at bar t does not change when the bars after t are removed."""
    whole, cut = _call(name, 400), _call(name, 250)
    assert whole.shape == (400,) and np.isfinite(whole[-100:]).all()
    np.testing.assert_array_equal(whole[:250], cut)


def test_indicators_give_their_textbook_values_on_a_small_series():
    values = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(ta.sma(values, 3), [np.nan, np.nan, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(ta.highest(values, 2), [np.nan, 2.0, 3.0, 4.0, 5.0])
    np.testing.assert_allclose(ta.roc(values, 1)[1:], [1.0, 0.5, 1 / 3, 0.25])
    low, high = ta.donchian(values + 1, values, 2)  # the two bars before, not this one
    np.testing.assert_array_equal(high, [np.nan, np.nan, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(low, [np.nan, np.nan, 1.0, 2.0, 3.0])
    rsi = ta.rsi(CLOSE, 14).dropna()
    assert ((rsi >= 0) & (rsi <= 100)).all()
    assert ta.rsi(values, 2).iloc[-1] == 100.0  # only gains
    assert ta.ewm_warmup(12) == 240
