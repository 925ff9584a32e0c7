"""One strategy's code cannot change the signals the sandbox computes for another.

Strategy A plays code that got past the syntax-tree check (sent straight to the sandbox): it
reaches the real builtins through ``np.__builtins__`` and poisons what it can reach in the process
where it runs (a numpy function, a pandas method, an indicator helper, the runtime's conversion of
results, the reply pipe). Strategy B, asked next through the same single-worker sandbox, must get
exactly the signals a fresh sandbox computes for it.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
from tests.strategy_samples import EMA_CROSS, random_walk, strategy

from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.errors import StrategyFailed

PRELUDE = """
real = np.__builtins__
sys = real["__import__"]("sys")
os = real["__import__"]("os")
"""
IMPORTS = "import numpy as np\nimport pandas as pd\nfrom sixbtc import indicators as ta"

POISONS = {
    "numpy_function": "np.where = lambda condition, *rest: np.ones(len(condition))",
    "pandas_method": "pd.Series.ewm = lambda self, *args, **kwargs: (self * 0).rolling(1)",
    "indicator_helper": "ta.ema = lambda values, span: values * 0.0",
    "runtime_conversion": (
        'runtime = sys.modules["sixbtc.adapters.sandbox.runtime"]\n'
        "runtime.as_signals = lambda result, bars: np.ones(bars, dtype=np.int8)"
    ),
    # Frames queued on every descriptor that could be the reply pipe, to be read as the answer to
    # the next request: a plausible reply for this one, then all-long signals for the next.
    "queued_replies": """
n = len(bars)
frames = b"".join(
    len(payload).to_bytes(4, "big") + payload
    for payload in (b"S" + bytes(n), b"S" + bytes([1] * n), b"S" + bytes([1] * n))
)
for fd in range(3, 16):
    try:
        os.write(fd, frames)
    except OSError:
        pass
""",
}


@pytest.fixture(scope="module")
def candles():
    return random_walk(1500, seed=3)


@pytest.fixture(scope="module")
def reference(candles):
    with SandboxSignalSource(workers=1, cpu_seconds=5, memory_mb=256) as fresh:
        return fresh.signals(EMA_CROSS, candles)


@pytest.mark.parametrize("poison", sorted(POISONS))
def test_a_strategy_cannot_change_the_next_strategys_signals(poison, candles, reference):
    attacker = strategy(PRELUDE + POISONS[poison] + "\nreturn np.zeros(len(bars))", imports=IMPORTS)
    with SandboxSignalSource(workers=1, cpu_seconds=5, memory_mb=256) as shared:
        with contextlib.suppress(StrategyFailed):  # only what follows the attacker matters
            shared.signals(attacker, candles)
        victim = [shared.signals(EMA_CROSS, candles) for _ in range(3)]
    for signals in victim:
        np.testing.assert_array_equal(signals, reference)


def test_a_strategy_cannot_stop_or_trace_the_process_that_serves_the_next(candles, reference):
    attack = strategy(
        PRELUDE
        + """
ctypes = sys.modules["ctypes"]
libc = ctypes.CDLL(None, use_errno=True)
parent = os.getppid()
traced = libc.ptrace(16, parent, 0, 0)  # PTRACE_ATTACH
try:
    os.kill(parent, 19)  # SIGSTOP
    stopped = "yes"
except OSError as error:
    stopped = type(error).__name__
raise RuntimeError(f"ptrace={traced} stop={stopped}")
""",
        imports=IMPORTS,
    )
    with SandboxSignalSource(workers=1, cpu_seconds=5, memory_mb=256) as shared:
        with pytest.raises(StrategyFailed) as failure:
            shared.signals(attack, candles)
        np.testing.assert_array_equal(shared.signals(EMA_CROSS, candles), reference)
    assert "ptrace=-1 stop=PermissionError" in str(failure.value)


def test_a_strategy_cannot_write_the_shared_candles_it_is_given(candles):
    """The buffer its candles came in (the parent writes the next strategy's there) refuses
    every write: through the mapping, a numpy view, or a mapping made writable."""
    attack = strategy(
        PRELUDE
        + """
ctypes = sys.modules["ctypes"]
frame = sys._getframe()
while "candles" not in frame.f_locals:
    frame = frame.f_back
buffer = frame.f_locals["candles"]
view = np.frombuffer(buffer, np.uint8)
outcomes = []
try:
    buffer[0:8] = bytes(8)
    outcomes.append("slice=written")
except TypeError:
    outcomes.append("slice=refused")
try:
    view.setflags(write=True)
    outcomes.append("flags=writable")
except ValueError:
    outcomes.append("flags=refused")
libc = ctypes.CDLL(None, use_errno=True)
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
outcomes.append(f"mprotect={libc.mprotect(view.ctypes.data, view.size, 3)}")  # READ | WRITE
raise RuntimeError(" ".join(outcomes))
""",
        imports=IMPORTS,
    )
    with (
        SandboxSignalSource(workers=1, cpu_seconds=5, memory_mb=256) as shared,
        pytest.raises(StrategyFailed) as failure,
    ):
        shared.signals(attack, candles)
    assert "slice=refused flags=refused mprotect=-1" in str(failure.value)


def test_a_stale_reply_is_never_taken_for_the_answer_to_a_later_request(candles):
    """The strategy finds its request's nonce and queues an extra reply carrying it; its next
    request (same strategy, same process) must not be answered with that stale reply."""
    code = strategy(
        PRELUDE
        + """
calls = real["getattr"](np, "_calls", 0)
np._calls = calls + 1
if calls == 0:
    frame = sys._getframe()
    while "nonce" not in frame.f_locals:
        frame = frame.f_back
    reply = frame.f_locals["nonce"] + b"S" + bytes(len(bars))
    os.write(frame.f_locals["replies"], len(reply).to_bytes(4, "big") + reply)
return np.full(len(bars), calls)
""",
        imports=IMPORTS,
    )
    with SandboxSignalSource(workers=1, cpu_seconds=5, memory_mb=256) as shared:
        assert not shared.signals(code, candles).any()  # the forged reply: all zeros
        with pytest.raises(StrategyFailed, match="malformed reply"):
            shared.signals(code, candles)  # its real reply (zeros) is now stale


def test_each_strategy_keeps_the_worker_that_served_it(candles):
    """Interleaved strategies do not take turns on one worker (each turn would cost a fork)."""
    codes = [EMA_CROSS, strategy("return np.zeros(len(bars))")]
    with SandboxSignalSource(workers=2, cpu_seconds=5, memory_mb=256) as shared:
        for code in codes * 3:
            shared.signals(code, candles)
        served = sorted((worker.code == codes[0], worker.served) for worker in shared._live)
    assert served == [(False, 3), (True, 3)]
