"""No sandbox process outlives its use: after close, a killed server, a replaced worker, a timeout
or a stopped service, every fork server and strategy process is gone (counted by pid). A signal to
the service's process group does not reach the sandbox, and a failure of the sandbox itself is
never reported as the strategy's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from tests.strategy_samples import EMA_CROSS, random_walk, strategy

from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.adapters.sandbox.signal_source import SandboxError
from sixbtc.application.errors import StrategyFailed, StrategyTimeout

#: Busy for seconds (well within its CPU limit of 10 s), then flat.
SLOW = strategy("t = 0\nfor _ in range(3 * 10**7):\n    t += 1\nreturn np.zeros(len(bars))")
LOOP = strategy("while True:\n    pass")


def children(pid: int) -> set[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return set()
    return {int(child) for child in text.split()}


def sandbox_pids(source: SandboxSignalSource) -> set[int]:
    """Every fork server of ``source`` and their strategy processes."""
    servers = {worker.process.pid for worker in source._live}
    return servers | {child for server in servers for child in children(server)}


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, dead but not reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def assert_gone(pids: set[int], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while (left := {pid for pid in pids if alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"still running: {sorted(left)}"


def test_close_leaves_no_sandbox_process():
    source = SandboxSignalSource(workers=2, cpu_seconds=2, memory_mb=256)
    threads = [
        threading.Thread(target=source.signals, args=(code, random_walk(300)))
        for code in (EMA_CROSS, strategy("return np.sign(bars.close.diff()).fillna(0)"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids = sandbox_pids(source)
    assert len(pids) == 4  # two servers, each with a strategy process
    source.close()
    assert_gone(pids)


def test_a_killed_server_takes_its_strategy_process_along_and_is_replaced():
    with SandboxSignalSource(workers=1, cpu_seconds=2, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(300))
        pids = sandbox_pids(source)
        (server,) = (worker.process.pid for worker in source._live)
        os.kill(server, signal.SIGKILL)
        assert_gone(pids)
        assert source.signals(EMA_CROSS, random_walk(300)).shape == (300,)
        replacement = sandbox_pids(source)
        assert server not in replacement and len(replacement) == 2
    assert_gone(replacement)


def test_a_server_killed_under_a_request_is_our_failure_not_the_strategys():
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        (server,) = (worker.process.pid for worker in source._live)
        threading.Timer(0.5, os.kill, (server, signal.SIGKILL)).start()
        with pytest.raises(SandboxError, match="sandbox worker died") as raised:
            source.signals(SLOW, random_walk(100))
        assert not isinstance(raised.value, StrategyFailed)
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_a_strategy_process_killed_from_outside_is_our_failure():
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        (server,) = (worker.process.pid for worker in source._live)

        def kill_the_strategy_process() -> None:
            for child in children(server):
                os.kill(child, signal.SIGKILL)

        threading.Timer(0.5, kill_the_strategy_process).start()
        with pytest.raises(SandboxError, match="killed"):
            source.signals(SLOW, random_walk(100))


def test_replaced_workers_and_timed_out_strategies_leave_nothing():
    seen: set[int] = set()
    with SandboxSignalSource(workers=1, cpu_seconds=1, memory_mb=256, max_requests=2) as source:
        for n in range(5):
            source.signals(strategy(f"return np.zeros(len(bars)) + 0 * {n}"), random_walk(100))
            seen |= sandbox_pids(source)
        with pytest.raises(StrategyTimeout):
            source.signals(LOOP, random_walk(50))
        seen |= sandbox_pids(source)
        current = sandbox_pids(source)
        assert_gone(seen - current)
    assert len({pid for pid in seen}) > 2  # workers were replaced
    assert_gone(seen)


def test_close_under_a_request_fails_it_as_ours_and_starts_nothing_more():
    source = SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256)
    source.signals(EMA_CROSS, random_walk(100))
    pids = sandbox_pids(source)
    threading.Timer(0.5, source.close).start()
    with pytest.raises(SandboxError):
        source.signals(SLOW, random_walk(100))
    with pytest.raises(SandboxError, match="closed"):
        source.signals(EMA_CROSS, random_walk(100))
    assert source._live == [] or all(w.process.poll() is not None for w in source._live)
    assert_gone(pids)


SERVICE = textwrap.dedent(
    """
    import sys, time
    from tests.strategy_samples import EMA_CROSS, random_walk
    from sixbtc.adapters.sandbox import SandboxSignalSource
    source = SandboxSignalSource(workers=1, cpu_seconds=2, memory_mb=256)
    source.signals(EMA_CROSS, random_walk(100))
    print(source._live[0].process.pid, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_to_the_services_process_group_does_not_reach_the_sandbox(number):
    """What systemd, supervisor or Ctrl-C in a terminal do: the sandbox is not in that group, and
    once the service is gone its fork server sees the end of its input and exits with its
    strategy process."""
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    server = int(service.stdout.readline())
    pids = {server} | children(server)
    assert os.getpgid(server) != os.getpgid(service.pid)
    os.killpg(service.pid, number)
    service.wait(timeout=10)
    assert_gone(pids)
