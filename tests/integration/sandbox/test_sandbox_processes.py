"""No sandbox process outlives its use: after close, a killed or stuck server, a replaced worker, a
timeout, a CPU limit or a stopped service, every fork server and strategy process is gone (counted
by pid and start time, see :mod:`.processes`). A signal to the service's process group does not
reach the sandbox, and a failure of the sandbox itself is never reported as the strategy's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tests.integration.sandbox.processes import (
    Census,
    as_from_a_terminal,
    become_subreaper,
    children,
    proc,
    stat,
    wait_adopted,
)
from tests.strategy_samples import EMA_CROSS, random_walk, strategy

from sixbtc.adapters.sandbox import SandboxSignalSource, signal_source
from sixbtc.adapters.sandbox.signal_source import SandboxError
from sixbtc.application.errors import StrategyFailed, StrategyTimeout

#: Busy for a second or more (well within a CPU limit of 10 s), then flat.
SLOW = strategy("t = 0\nfor _ in range(3 * 10**7):\n    t += 1\nreturn np.zeros(len(bars))")
LOOP = strategy("while True:\n    pass")
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def census(monkeypatch):
    """Every fork server started during the test (and what runs below it); at the end, none may
    be left."""
    become_subreaper()
    census = Census().open()
    start = signal_source._Worker.__init__

    def counted(worker, *args, **kwargs):
        try:
            start(worker, *args, **kwargs)
        finally:
            if getattr(worker, "process", None) is not None:
                census.started(worker)

    monkeypatch.setattr(signal_source._Worker, "__init__", counted)
    yield census
    census.close()
    census.assert_none_left()


def server_of(source: SandboxSignalSource) -> int:
    (worker,) = source._live
    return worker.process.pid


def busy_child(server: int, within: float = 10.0) -> int:
    """The strategy process of ``server`` once it has computed for a tenth of a second."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for child in children(server):
            info = stat(child)
            if info and info.cpu_ticks * 10 >= os.sysconf("SC_CLK_TCK"):
                return child
        time.sleep(0.01)
    raise AssertionError(f"no strategy process of {server} computed within {within} s")


def in_thread(call, *args) -> tuple[threading.Thread, list]:
    """Run ``call(*args)``; the list receives its result or the exception it raised."""
    outcome: list = []

    def run() -> None:
        try:
            outcome.append(call(*args))
        except BaseException as error:  # handed to the test
            outcome.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_strategy_process_holds_its_two_pipes_and_nothing_else(census):
    """The cause of the orphans: the server's pipes reuse descriptors 0-2, which strategy
    processes used to keep (among them the write end of their own requests)."""
    with SandboxSignalSource(workers=1, cpu_seconds=2, memory_mb=256) as source:
        for n in range(3):  # the first strategy process, forked at start-up, and two more
            source.signals(strategy(f"return np.zeros(len(bars)) + 0 * {n}"), random_walk(50))
            server = server_of(source)
            (child,) = children(server)
            held = {fd.name: os.readlink(fd) for fd in Path(f"/proc/{child}/fd").iterdir()}
            server_pipes = {os.readlink(fd) for fd in Path(f"/proc/{server}/fd").iterdir()}
            assert len(held) == 2, held
            assert all(target.startswith("pipe:") for target in held.values()), held
            assert set(held.values()) <= server_pipes
        status = Path(f"/proc/{server}/status").read_text()
        assert "\nThreads:\t1\n" in status  # forks from one thread; its children die with it


def test_close_leaves_no_sandbox_process(census):
    source = SandboxSignalSource(workers=2, cpu_seconds=2, memory_mb=256)
    threads = [
        threading.Thread(target=source.signals, args=(code, random_walk(300)))
        for code in (EMA_CROSS, strategy("return np.sign(bars.close.diff()).fillna(0)"))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    processes = census.everything()
    assert len(census.servers) == 2 and len(processes) == 4  # each server, a strategy process
    source.close()
    census.assert_gone(processes)


def test_a_server_killed_between_requests_takes_its_strategy_process_along_and_is_replaced(
    census,
):
    with SandboxSignalSource(workers=1, cpu_seconds=2, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(300))
        killed = census.everything()
        assert len(killed) == 2
        os.kill(server_of(source), signal.SIGKILL)
        census.assert_gone(set(census.strategies))  # saw the end of its requests or died with it
        assert source.signals(EMA_CROSS, random_walk(300)).shape == (300,)
        census.assert_gone(killed)  # the killed server is reaped too
        assert len(census.servers) == 2
    census.assert_none_left()


def test_a_strategy_process_dies_with_its_server_even_while_it_computes(census):
    with SandboxSignalSource(workers=1, cpu_seconds=30, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        server = server_of(source)
        thread, outcome = in_thread(source.signals, LOOP, random_walk(100))
        computing = proc(busy_child(server))
        os.kill(server, signal.SIGKILL)
        census.assert_gone({computing}, within=2.0)  # not waiting for its CPU limit of 30 s
        thread.join()
        assert isinstance(outcome[0], SandboxError), outcome  # ours, not the strategy's
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)  # a fresh worker


def test_a_server_killed_under_a_request_is_our_failure_not_the_strategys(census):
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        server = server_of(source)
        thread, outcome = in_thread(source.signals, SLOW, random_walk(100))
        busy_child(server)
        os.kill(server, signal.SIGKILL)
        thread.join()
        (error,) = outcome
        assert isinstance(error, SandboxError) and not isinstance(error, StrategyFailed)
        assert "sandbox worker died" in str(error)
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_a_stuck_server_is_our_failure_not_a_timeout_of_the_strategy(census, monkeypatch):
    """The server enforces a request's limits; when it does not answer within them (and the
    margin), the sandbox is broken."""
    monkeypatch.setattr(signal_source, "wall_seconds", lambda cpu_seconds: 1.0)
    monkeypatch.setattr(signal_source, "_MARGIN_SECONDS", 0.5)
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        stuck = census.everything()
        os.kill(server_of(source), signal.SIGSTOP)
        with pytest.raises(SandboxError, match="did not answer") as raised:
            source.signals(EMA_CROSS, random_walk(100))
        assert not isinstance(raised.value, StrategyFailed)
        census.assert_gone(stuck)
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_a_strategy_process_killed_from_outside_is_our_failure(census):
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        server = server_of(source)
        thread, outcome = in_thread(source.signals, SLOW, random_walk(100))
        os.kill(busy_child(server), signal.SIGKILL)
        thread.join()
        (error,) = outcome
        assert isinstance(error, SandboxError) and "killed (signal 9)" in str(error)
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_a_strategy_process_dying_of_another_signal_is_the_strategys_failure(census):
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        thread, outcome = in_thread(source.signals, SLOW, random_walk(100))
        os.kill(busy_child(server_of(source)), signal.SIGSEGV)
        thread.join()
        (error,) = outcome
        assert isinstance(error, StrategyFailed) and not isinstance(error, StrategyTimeout)
        assert f"signal {signal.SIGSEGV.value}" in str(error)


def test_a_strategy_that_closes_its_pipe_is_the_strategys_failure(census):
    """Its process lives on without its pipe: the server ends it, and it is not taken for a
    process killed from outside."""
    code = strategy(
        """
os = np.__builtins__["__import__"]("os")
for fd in range(16):
    try:
        os.close(fd)
    except OSError:
        pass
while True:
    pass
"""
    )
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        with pytest.raises(StrategyFailed, match="closed its pipe") as raised:
            source.signals(code, random_walk(50))
        assert not isinstance(raised.value, SandboxError)
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)


@pytest.mark.parametrize("raised", ["SystemExit(1)", "SystemExit()", "KeyboardInterrupt()"])
def test_a_strategy_that_raises_system_exit_fails_by_itself(census, raised):
    """Reported as the strategy's own error (``runtime_error`` at validation), with its line, not
    as a process that died; the sandbox goes on and leaves nothing behind."""
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        name = raised.partition("(")[0]
        with pytest.raises(StrategyFailed, match=rf"^{name}: .*at line 10$") as raised_error:
            source.signals(strategy(f"raise {raised}"), random_walk(50))
        assert not isinstance(raised_error.value, SandboxError | StrategyTimeout)
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_printed_output_never_reaches_the_pipes(census):
    """100 KB printed, more than the standard output's buffer: a strategy process's descriptors
    0-2 are closed or are its pipes to the server, so printing must write to none of them."""
    candles = random_walk(300)
    quiet = strategy("return np.sign(bars.close.diff()).fillna(0)")
    loud = strategy(
        "for i in range(1000):\n    print('x' * 100, i)\nprint('flushed', flush=True)\n"
        "return np.sign(bars.close.diff()).fillna(0)"
    )
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=256) as source:
        expected = source.signals(quiet, candles)
        for _ in range(2):  # twice in one process: nothing left buffered between requests
            assert np.array_equal(source.signals(loud, candles), expected)


def test_a_strategy_over_its_cpu_limit_times_out_and_leaves_nothing(census):
    """Even when a request's CPU allowance reaches the strategy process's lifetime limit (one
    request per worker here): the kernel stops it with SIGXCPU (a timeout), never SIGKILL."""
    with SandboxSignalSource(workers=1, cpu_seconds=1, memory_mb=256, max_requests=1) as source:
        for _ in range(2):
            with pytest.raises(StrategyTimeout, match="CPU time limit"):
                source.signals(LOOP, random_walk(50))
    assert len(census.servers) == 2  # replaced after each request


def test_a_request_over_its_wall_clock_limit_times_out_and_leaves_nothing(census):
    """A strategy process that gets no CPU (stopped here) is ended by the server at the request's
    wall-clock limit (3 * 1 + 5 s)."""
    with SandboxSignalSource(workers=1, cpu_seconds=1, memory_mb=256) as source:
        source.signals(EMA_CROSS, random_walk(100))
        thread, outcome = in_thread(source.signals, LOOP, random_walk(100))
        stopped = proc(busy_child(server_of(source), within=5.0))
        os.kill(stopped.pid, signal.SIGSTOP)
        thread.join()
        (error,) = outcome
        assert isinstance(error, StrategyTimeout) and "no signals within 8 s" in str(error)
        census.assert_gone({stopped}, within=0.0)  # ended and reaped by the server
        assert source.signals(EMA_CROSS, random_walk(100)).shape == (100,)


def test_replaced_workers_and_timed_out_strategies_leave_nothing(census):
    with SandboxSignalSource(workers=1, cpu_seconds=1, memory_mb=256, max_requests=2) as source:
        for n in range(5):
            source.signals(strategy(f"return np.zeros(len(bars)) + 0 * {n}"), random_walk(100))
        current = server_of(source)
        census.assert_gone(
            {p for p in census.everything() if p.pid != current and p.pid not in children(current)}
        )
        assert len(census.servers) == 3  # replaced after every second request
        with pytest.raises(StrategyTimeout, match="CPU time limit"):
            source.signals(LOOP, random_walk(50))  # its second request: the worker is replaced
        assert not source._live
        census.assert_none_left()


def test_close_under_requests_fails_them_as_ours_and_starts_nothing_more(census):
    source = SandboxSignalSource(workers=2, cpu_seconds=10, memory_mb=256)
    source.signals(EMA_CROSS, random_walk(100))
    # Two requests computing, a third waiting for a worker.
    flights = [in_thread(source.signals, SLOW + f"# {n}\n", random_walk(100)) for n in range(3)]
    deadline = time.monotonic() + 10
    while len(census.servers) < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    for server in set(census.servers):
        busy_child(server.pid)
    source.close()
    for thread, outcome in flights:
        thread.join()
        (error,) = outcome
        assert isinstance(error, SandboxError), error
    servers = len(census.servers)
    with pytest.raises(SandboxError, match="closed"):
        source.signals(EMA_CROSS, random_walk(100))
    with pytest.raises(SandboxError, match="closed"):
        source.layers()
    source.close()  # again: nothing happens
    assert len(census.servers) == servers == 2 and not source._live
    census.assert_none_left()


SERVICE = textwrap.dedent(
    """
    import sys, threading, time
    from tests.strategy_samples import EMA_CROSS, random_walk, strategy
    from sixbtc.adapters.sandbox import SandboxSignalSource
    source = SandboxSignalSource(workers=1, cpu_seconds=30, memory_mb=256)
    source.signals(EMA_CROSS, random_walk(100))
    def in_flight():
        try:
            source.signals(sys.argv[1], random_walk(100))
            print("in flight: signals", flush=True)
        except Exception as error:
            print(f"in flight: {type(error).__name__}: {error}", flush=True)
    print(source._live[0].process.pid, flush=True)
    threading.Thread(target=in_flight).start()
    time.sleep(60)
    """
)


def start_service(census: Census, code: str) -> tuple[subprocess.Popen, int]:
    """A process using the sandbox, in a process group of its own, with ``code`` in flight."""
    service = subprocess.Popen(
        [sys.executable, "-c", SERVICE, code],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        cwd=ROOT,
        preexec_fn=as_from_a_terminal,
    )
    server = int(service.stdout.readline())
    census.watch(server)
    busy_child(server)
    assert os.getpgid(server) != os.getpgid(service.pid)
    assert os.getsid(server) != os.getsid(service.pid)
    return service, server


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGKILL])
def test_a_stopped_service_leaves_its_sandbox_to_exit_by_itself(census, number):
    """What systemd or supervisor do: SIGTERM to the service's group, which dies at once. The fork
    server is not in that group; it sees its parent's end of the pipe close, even in the middle of
    a request (here an endless one), ends its strategy process and exits, unsignalled."""
    service, server = start_service(census, LOOP)
    os.killpg(service.pid, number)
    assert service.wait(timeout=10) == -number
    status = wait_adopted(server, within=3.0)  # orphaned, it came back to the test process
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    census.assert_gone(census.everything(), within=2.0)


def test_ctrl_c_in_a_terminal_does_not_fail_the_strategies_in_flight(census):
    """Ctrl-C sends SIGINT to the terminal's foreground group: the service's main thread stops,
    but the request in flight is answered (the sandbox did not get the signal); the service then
    closes the sandbox at exit."""
    service, _ = start_service(census, SLOW)
    os.killpg(service.pid, signal.SIGINT)
    output, _ = service.communicate(timeout=60)
    assert "in flight: signals" in output
    assert service.returncode != 0  # KeyboardInterrupt
    census.assert_gone(census.everything(), within=2.0)
