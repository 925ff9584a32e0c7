"""Indicator helpers that strategy code may import (``from sixbtc import indicators as ta``).

Every function is causal: the value at bar ``t`` uses bars ``<= t`` only. Inputs are pandas Series
or 1-D numpy arrays; outputs are float pandas Series of the same length, NaN while the window is
not yet full. Exponential smoothers start from the first bar, so a strategy that uses them must
declare a warm-up of about 20 spans (see :func:`ewm_warmup`) to give the same signals live as in
the backtest.

This module is data for the strategy sandbox: it imports only numpy and pandas, never the rest of
sixbtc, and reads no file, network or environment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The exported helpers: the only names the validator lets strategies use from this module.
__all__ = [
    "atr",
    "bollinger",
    "cci",
    "donchian",
    "ema",
    "ewm_warmup",
    "highest",
    "keltner",
    "lowest",
    "macd",
    "momentum",
    "obv_slope",
    "roc",
    "rsi",
    "sma",
    "stddev",
    "stochastic",
    "true_range",
    "volume_ratio",
    "williams_r",
    "zscore",
]


def _series(values) -> pd.Series:
    if isinstance(values, pd.Series):
        return values.astype(np.float64)
    return pd.Series(np.asarray(values, dtype=np.float64))


def ewm_warmup(span: float) -> int:
    """Bars after which an exponential smoother of ``span`` has forgotten its seed (to ~1e-9)."""
    return int(np.ceil(20 * span))


def sma(values, length: int) -> pd.Series:
    """Simple moving average over ``length`` bars."""
    return _series(values).rolling(length).mean()


def ema(values, span: int) -> pd.Series:
    """Exponential moving average (``alpha = 2 / (span + 1)``), NaN for the first ``span - 1``."""
    return _series(values).ewm(span=span, adjust=False, min_periods=span).mean()


def stddev(values, length: int) -> pd.Series:
    """Rolling sample standard deviation over ``length`` bars."""
    return _series(values).rolling(length).std()


def zscore(values, length: int) -> pd.Series:
    """How many rolling standard deviations the value is from its rolling mean."""
    series = _series(values)
    return (series - sma(series, length)) / stddev(series, length)


def highest(values, length: int) -> pd.Series:
    """Rolling maximum over the last ``length`` bars (including this one)."""
    return _series(values).rolling(length).max()


def lowest(values, length: int) -> pd.Series:
    """Rolling minimum over the last ``length`` bars (including this one)."""
    return _series(values).rolling(length).min()


def momentum(values, length: int) -> pd.Series:
    """Difference between the value and the value ``length`` bars ago."""
    return _series(values).diff(length)


def roc(values, length: int) -> pd.Series:
    """Rate of change over ``length`` bars, as a fraction."""
    return _series(values).pct_change(length, fill_method=None)


def rsi(close, length: int = 14) -> pd.Series:
    """Wilder's relative strength index (0..100)."""
    change = _series(close).diff()
    alpha = 1.0 / length
    gain = change.clip(lower=0).ewm(alpha=alpha, adjust=False, min_periods=length).mean()
    loss = (-change).clip(lower=0).ewm(alpha=alpha, adjust=False, min_periods=length).mean()
    return 100.0 - 100.0 / (1.0 + gain / loss)


def true_range(high, low, close) -> pd.Series:
    """The bar's range extended to the previous close."""
    high, low, close = _series(high), _series(low), _series(close)
    previous = close.shift(1)
    return pd.concat([high - low, (high - previous).abs(), (low - previous).abs()], axis=1).max(
        axis=1, skipna=False
    )


def atr(high, low, close, length: int = 14) -> pd.Series:
    """Average true range: Wilder's smoothing of :func:`true_range`."""
    return (
        true_range(high, low, close)
        .ewm(alpha=1.0 / length, adjust=False, min_periods=length)
        .mean()
    )


def bollinger(
    close, length: int = 20, width: float = 2.0
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Lower band, middle (SMA) and upper band ``width`` standard deviations away."""
    middle = sma(close, length)
    spread = width * stddev(close, length)
    return middle - spread, middle, middle + spread


def keltner(high, low, close, length: int = 20, width: float = 2.0):
    """Lower, middle (EMA) and upper Keltner channel ``width`` ATRs away."""
    middle = ema(close, length)
    spread = width * atr(high, low, close, length)
    return middle - spread, middle, middle + spread


def donchian(high, low, length: int = 20) -> tuple[pd.Series, pd.Series]:
    """Lowest low and highest high of the ``length`` bars before this one (excluding it)."""
    return lowest(low, length).shift(1), highest(high, length).shift(1)


def macd(close, fast: int = 12, slow: int = 26, signal: int = 9):
    """MACD line (fast EMA - slow EMA), its signal EMA and the histogram."""
    line = ema(close, fast) - ema(close, slow)
    trigger = line.ewm(span=signal, adjust=False, min_periods=signal).mean()
    return line, trigger, line - trigger


def stochastic(high, low, close, length: int = 14, smooth: int = 3):
    """%K (0..100) of the close within the ``length``-bar range, and its ``smooth``-bar SMA %D."""
    low_n, high_n = lowest(low, length), highest(high, length)
    k = 100.0 * (_series(close) - low_n) / (high_n - low_n)
    return k, sma(k, smooth)


def williams_r(high, low, close, length: int = 14) -> pd.Series:
    """Williams %R (-100..0)."""
    k, _ = stochastic(high, low, close, length, 1)
    return k - 100.0


def cci(high, low, close, length: int = 20) -> pd.Series:
    """Commodity channel index over ``length`` bars."""
    typical = (_series(high) + _series(low) + _series(close)) / 3.0
    mean = sma(typical, length)
    deviation = np.full(len(typical), np.nan)
    if len(typical) >= length:
        windows = np.lib.stride_tricks.sliding_window_view(typical.to_numpy(), length)
        deviation[length - 1 :] = np.abs(windows - windows.mean(axis=1, keepdims=True)).mean(axis=1)
    return (typical - mean) / (0.015 * deviation)


def volume_ratio(volume, length: int = 20) -> pd.Series:
    """Volume relative to its ``length``-bar average."""
    return _series(volume) / sma(volume, length)


def obv_slope(close, volume, length: int = 20) -> pd.Series:
    """Change of on-balance volume over ``length`` bars, scaled by average volume (causal and
    independent of where the history starts)."""
    direction = np.sign(_series(close).diff())
    flow = direction * _series(volume)
    return flow.rolling(length).sum() / sma(volume, length)
