"""What strategy code may name: modules, builtins and attributes (an allow-list, not a block-list).

Attribute names are checked whatever object they are read from, because the check cannot know
types: a name is allowed when some allowed object (numpy, pandas, math, the indicator helpers, a
Series, an ndarray, a rolling window) offers it harmlessly. Nothing here reads or writes files,
evaluates strings or reaches the interpreter. Some allowed functions can look ahead when misused
(``np.convolve(..., mode="same")``, a polynomial fit or a Fourier transform over the whole series,
a resample whose last bucket is still open): the validator's shuffle test is what refuses those.
"""

from __future__ import annotations


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: import name -> the attributes of that module strategy code may use.
NUMPY = _words(
    """
    abs absolute add all angle any arange arctan arctan2 argmax argmin array asarray bool_ ceil
    clip concatenate convolve cos cumprod cumsum diff divide e errstate exp fabs fft float64 floor
    fmax fmin full full_like gradient greater greater_equal hypot imag inf int8 int64 isclose
    isfinite isnan less less_equal log log1p log2 log10 logical_and logical_not logical_or
    logical_xor max maximum mean median min minimum multiply nan nan_to_num nanmax nanmean
    nanmedian nanmin nanstd nansum ones ones_like percentile pi polyfit polyval power quantile
    real roll round select sign sin sort sqrt square std subtract sum tanh tan var where zeros
    zeros_like
    """
)
#: Attributes of ``np.fft`` (reached as ``np.fft.rfft``; ``numpy.fft`` itself is not importable).
NUMPY_FFT = _words("fft fftfreq ifft irfft rfft rfftfreq")
PANDAS = _words("DataFrame Series Timedelta concat isna notna to_datetime")
MATH = _words("ceil copysign e exp fabs floor inf isfinite isnan log log10 nan pi sqrt tanh")
#: ``sixbtc.indicators.__all__``, spelled out so that inspecting code does not import pandas (a
#: test keeps the two equal).
INDICATORS = _words(
    """
    atr bollinger cci donchian ema ewm_warmup highest keltner lowest macd momentum obv_slope roc
    rsi sma stddev stochastic true_range volume_ratio williams_r zscore
    """
)
MODULES = {
    "numpy": NUMPY,
    "pandas": PANDAS,
    "math": MATH,
    "sixbtc.indicators": INDICATORS,
}

#: Attributes of values (Series, DataFrame, ndarray, rolling and resampling windows, dicts, lists,
#: the ``.dt`` accessor and datetime indexes).
VALUE_ATTRIBUTES = _words(
    """
    open high low close volume time
    abs add all any append apply astype between bfill backfill clip copy corr count cov cummax
    cummin cumprod cumsum diff div dtype ewm expanding ffill fillna ge get gt idxmax idxmin iloc
    index interpolate isna isnull item items keys kurt le loc lt mask max mean median min mul
    ne nlargest notna notnull nsmallest pct_change prod quantile rank reshape rolling round shape
    shift size skew sort_values std sub sum to_numpy tolist values var where
    resample reindex set_index first last ohlc
    dt hour minute day dayofweek day_of_week weekday dayofyear day_of_year month quarter year
    """
)

#: Builtins strategy code may call; any other free name (open, eval, getattr, type...) is refused.
#: ``print`` writes nowhere (see :mod:`sixbtc.adapters.sandbox.runtime`); raising an exception is
#: the strategy's failure (``runtime_error``).
BUILTINS = _words(
    """
    abs all any bool dict enumerate float int isinstance len list max min print range round set
    sum tuple zip ArithmeticError AssertionError Exception FloatingPointError IndexError KeyError
    LookupError NotImplementedError OverflowError RuntimeError SystemExit TypeError ValueError
    ZeroDivisionError
    """
)

ALL_ATTRIBUTES = VALUE_ATTRIBUTES.union(NUMPY_FFT, *MODULES.values())
