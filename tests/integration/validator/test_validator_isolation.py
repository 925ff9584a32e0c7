"""The validator's dynamic checks hold against code that got past the static checks and keeps
state between requests: each group of compared requests starts in a fresh strategy process."""

from __future__ import annotations

import pytest
from tests.strategy_samples import strategy

from sixbtc.adapters.inspection import AstCodeInspector
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.validate import StrategyChecker, ValidationSettings

# Long when the next close is higher: the real next close where this history agrees with the
# longest one seen so far (kept on the numpy module), else this history's own next close.
REMEMBERS_THE_FUTURE = strategy(
    """
real = np.__builtins__
x = bars.close.to_numpy()
seen = real["getattr"](np, "_seen", None)
if seen is None or len(x) > len(seen):
    np._seen = seen = x.copy()
k = min(len(x), len(seen))
agree = int(np.cumprod(x[:k] == seen[:k]).sum())
later = np.append(x[1:], np.nan)
known = min(agree, len(seen) - 1)
later[:known] = seen[1 : known + 1]
return np.nan_to_num(np.sign(later - x))
"""
)


class PassesStaticChecks(AstCodeInspector):
    """Plays code that slipped past the syntax-tree checks."""

    def problem(self, code: str) -> str | None:
        return None


class SharedProcess:
    """The sandbox without fresh processes: every request of a strategy in one process."""

    def __init__(self, sandbox: SandboxSignalSource) -> None:
        self.sandbox = sandbox

    def signals(self, code, candles, *, fresh=False):
        return self.sandbox.signals(code, candles)


@pytest.fixture
def sandbox():
    """A new sandbox per test: the code's memory must not carry from one test to the next."""
    with SandboxSignalSource(workers=1, cpu_seconds=2, memory_mb=256) as source:
        yield source


def test_code_that_remembers_the_whole_history_is_caught(sandbox):
    checker = StrategyChecker(PassesStaticChecks(), sandbox, ValidationSettings(history_bars=1000))
    assert checker.reason(REMEMBERS_THE_FUTURE) == "lookahead_shuffle: 20 of 20 points changed"


def test_in_one_shared_process_the_same_code_would_pass(sandbox):
    """What the fresh processes prevent (so the test above is not passing by accident)."""
    checker = StrategyChecker(
        PassesStaticChecks(), SharedProcess(sandbox), ValidationSettings(history_bars=1000)
    )
    assert checker.reason(REMEMBERS_THE_FUTURE) is None
