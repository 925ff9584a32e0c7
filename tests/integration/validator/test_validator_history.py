"""The validator's checks that depend on history length: the execution check at production length
(code fine on a short history and too slow for a backtest is refused as ``timeout``) and the
warm-up check (stable signals pass whatever warm-up they declare; signals that depend on where
history starts are refused whatever warm-up they declare)."""

from __future__ import annotations

import pytest
from tests.strategy_samples import strategy

from sixbtc.adapters.inspection import AstCodeInspector
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.validate import StrategyChecker, ValidationSettings
from sixbtc.domain.reasons import Code

#: Takes the differences of the whole history again at every bar: quadratic in the bars.
QUADRATIC = strategy(
    """
x = bars.close.to_numpy()
out = np.zeros(len(x))
for i in range(20, len(x)):
    trend = np.diff(x[: i + 1])[i - 20 :].mean()
    out[i] = 1 if trend > 0 else -1
return out
"""
)
#: The same signals with constant work per bar.
LINEAR = strategy(
    """
x = bars.close.to_numpy()
out = np.zeros(len(x))
for i in range(20, len(x)):
    out[i] = 1 if x[i] > x[i - 20] else -1
return out
"""
)
EWM = "f = bars.close.ewm(span=50, adjust=False).mean()\nreturn np.where(bars.close > f, 1, -1)"
EMA = (
    "fast, slow = ta.ema(bars.close, 20), ta.ema(bars.close, 200)\n"
    "return np.where(fast > slow, 1, np.where(fast < slow, -1, 0))"
)
TA = "import numpy as np\nfrom sixbtc import indicators as ta"
FROM_THE_START = [
    "c = bars.close.diff().fillna(0).cumsum()\nreturn np.where(c > 0, 1, -1)",
    "m = bars.close.expanding().mean()\nreturn np.where(bars.close > m, 1, -1)",
    "x = bars.close.to_numpy()\nreturn np.where(x > x[0], 1, -1)",
]


@pytest.fixture(scope="module")
def sandbox():
    with SandboxSignalSource(workers=2, cpu_seconds=1, memory_mb=256) as source:
        yield source


def checker(sandbox, **settings) -> StrategyChecker:
    return StrategyChecker(AstCodeInspector(), sandbox, ValidationSettings(**settings))


def test_quadratic_code_passes_without_a_production_length_request(sandbox):
    """On the other checks' histories (at most a few times the live history) it is fast enough."""
    assert checker(sandbox, production_bars=5000).reason(QUADRATIC) is None


def test_quadratic_code_times_out_at_production_length(sandbox):
    reason = checker(sandbox).reason(QUADRATIC)
    assert reason is not None and reason.code is Code.TIMEOUT, reason
    assert reason.endswith("on 113760 bars (the longest history of a backtest)"), reason


def test_linear_loop_over_the_bars_is_accepted_at_production_length(sandbox):
    assert checker(sandbox).reason(LINEAR) is None


@pytest.mark.parametrize("warmup", [0, 5, 60, 960, 2400])
@pytest.mark.parametrize(("body", "imports"), [(EWM, "import numpy as np"), (EMA, TA)])
def test_stable_signals_are_accepted_whatever_warmup_they_declare(sandbox, body, imports, warmup):
    code = strategy(body, imports=imports, warmup=warmup)
    assert checker(sandbox, production_bars=20_000).reason(code) is None


@pytest.mark.parametrize("warmup", [0, 60, 2400])
@pytest.mark.parametrize("body", FROM_THE_START)
def test_signals_that_depend_on_where_history_starts_are_refused(sandbox, body, warmup):
    reason = checker(sandbox, production_bars=20_000).reason(strategy(body, warmup=warmup))
    assert reason is not None and reason.startswith("warmup_dependent: "), reason
