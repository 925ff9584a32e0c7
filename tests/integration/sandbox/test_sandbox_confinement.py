"""The sandbox holds even for code that got past the syntax-tree check.

These strategies are sent straight to the sandbox, skipping the validator's static checks, to play
the part of code that slipped through them. Each reports what it managed to do by raising an
exception whose message comes back to the parent.
"""

from __future__ import annotations

import socket
import threading

import numpy as np
import pytest
from tests.strategy_samples import EMA_CROSS, random_walk, strategy

from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.errors import StrategyFailed, StrategyTimeout

SECRET = "hunter2-exchange-key"

# Reaching real builtins through an allowed module's attribute chain (np.__builtins__), the
# classic escape from restricted namespaces.
ESCAPE = """
real = np.__builtins__
os = real["__import__"]("os")
report = []
def attempt(label, action):
    try:
        report.append(f"{label}=OK:{action()!r}")
    except BaseException as error:
        report.append(f"{label}=DENIED:{type(error).__name__}")
"""


@pytest.fixture(scope="module")
def sandbox():
    with SandboxSignalSource(workers=1, cpu_seconds=2, memory_mb=256) as source:
        yield source


@pytest.fixture(scope="module")
def secret_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("secrets") / "keys.txt"
    path.write_text(SECRET)
    path.chmod(0o644)
    return path


def escape_report(sandbox: SandboxSignalSource, attempts: str) -> str:
    code = strategy(ESCAPE + attempts + 'raise RuntimeError(" ".join(report))')
    with pytest.raises(StrategyFailed) as failure:
        sandbox.signals(code, random_walk(50))
    return str(failure.value)


def test_sandbox_computes_signals_like_direct_code(sandbox):
    candles = random_walk(1500)
    signals = sandbox.signals(EMA_CROSS, candles)
    assert signals.dtype == np.int8 and signals.shape == (1500,)
    assert set(np.unique(signals)) == {-1, 0, 1}


def test_every_confinement_layer_is_active_here(sandbox):
    layers = sandbox.layers()
    assert not [layer for layer in layers if layer.startswith("missing:")], layers
    for layer in ("network_namespace", "landlock_filesystem", "resource_limits"):
        assert layer in layers


def test_escaped_code_cannot_read_files_or_see_secrets(monkeypatch, secret_file):
    monkeypatch.setenv("SIXBTC_EXCHANGE__API_KEY", SECRET)
    with SandboxSignalSource(workers=1, cpu_seconds=2, memory_mb=256) as fresh:
        report = escape_report(
            fresh,
            f"""
attempt("file", lambda: real["open"]({str(secret_file)!r}).read())
attempt("listdir", lambda: os.listdir("/"))
attempt("parent_environ", lambda: real["open"](f"/proc/{{os.getppid()}}/environ", "rb").read())
attempt("environ", lambda: [k for k in os.environ if k.startswith("SIXBTC")])
attempt("write", lambda: real["open"]("/tmp/sixbtc-escape-marker", "w").write("x"))
""",
        )
    assert "file=DENIED:PermissionError" in report
    assert "listdir=DENIED:PermissionError" in report
    assert "parent_environ=DENIED:PermissionError" in report
    assert "environ=OK:[]" in report
    assert "write=DENIED" in report
    assert SECRET not in report


def test_escaped_code_cannot_reach_the_network_or_start_processes(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    report = escape_report(
        sandbox,
        f"""
socket = real["__import__"]("socket")
attempt("connect", lambda: socket.create_connection(("127.0.0.1", {port}), timeout=1))
attempt("fork", lambda: os.fork())
attempt("kill_parent", lambda: os.kill(os.getppid(), 0))
""",
    )
    listener.close()
    assert "connect=DENIED" in report
    assert "fork=DENIED" in report
    assert "kill_parent=DENIED" in report
    assert not accepted


def test_infinite_loop_is_stopped_and_the_pool_recovers(sandbox):
    with pytest.raises(StrategyTimeout):
        sandbox.signals(strategy("while True:\n    pass"), random_walk(50))
    assert sandbox.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_memory_bomb_fails_with_memory_error(sandbox):
    bomb = strategy("hoard = []\nwhile True:\n    hoard.append(np.ones(10**7))")
    with pytest.raises(StrategyFailed, match="MemoryError"):
        sandbox.signals(bomb, random_walk(50))
    assert sandbox.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_forged_reply_on_the_protocol_pipe_is_refused(sandbox):
    code = strategy(
        ESCAPE
        + """
frame = bytes([0, 0, 0, 51]) + b"S" + bytes([7] * 50)
for fd in range(16):
    attempt(fd, lambda: os.write(fd, frame))
return np.zeros(len(bars))
"""
    )
    with pytest.raises(StrategyFailed, match="malformed reply"):
        sandbox.signals(code, random_walk(50))
    assert sandbox.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_a_method_called_by_name_through_pandas_cannot_write_files(sandbox, tmp_path):
    """``apply`` with a string calls the method of that name (here ``to_csv``): the allow-list
    refuses it now, and the sandbox denied it before."""
    target = tmp_path / "written.csv"
    code = strategy(
        f"bars.close.apply('to_csv', args=({str(target)!r},))\nreturn np.zeros(len(bars))"
    )
    with pytest.raises(StrategyFailed, match="PermissionError"):
        sandbox.signals(code, random_walk(50))
    assert not target.exists()
