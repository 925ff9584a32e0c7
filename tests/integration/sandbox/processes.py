"""Counting sandbox processes in tests: :class:`Census` knows every fork server started while it is
open (by pid and start time, so that a reused pid is never taken for one of them), the strategy
processes it saw below them, and every sandbox process below the test process.

The test process is a child subreaper (see ``tests/conftest.py``): an orphan comes back to it,
not to init, so a process left behind is still found below it, and an orphan that ended is a
zombie of the test process, which :class:`Census` reaps. A zombie of any other process still
counts: it is gone only once reaped.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import threading
import time
from pathlib import Path
from typing import NamedTuple

from sixbtc.adapters.sandbox import signal_source

SANDBOX = b"sixbtc.adapters.sandbox.worker"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PR_SET_CHILD_SUBREAPER = 36


class Stat(NamedTuple):
    state: str
    ppid: int
    cpu_ticks: int
    start: int


class Proc(NamedTuple):
    """A process by pid and start time (clock ticks after boot)."""

    pid: int
    start: int


def stat(pid: int) -> Stat | None:
    """The process's state, parent, CPU time and start time; None once it is reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return Stat(fields[0], int(fields[1]), int(fields[11]) + int(fields[12]), int(fields[19]))


def proc(pid: int) -> Proc | None:
    found = stat(pid)
    return Proc(pid, found.start) if found else None


def children(pid: int) -> set[int]:
    try:
        return {
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        }
    except OSError:
        return set()


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def boot_ticks() -> int:
    """Now, in the unit of a process's start time."""
    return int(time.clock_gettime(time.CLOCK_BOOTTIME) * CLOCK_TICKS)


def wait_adopted(pid: int, within: float = 10.0) -> int:
    """Reap ``pid``, an orphan adopted by this (subreaper) process, and return its wait status."""
    deadline = time.monotonic() + within
    while True:
        reaped, status = os.waitpid(pid, os.WNOHANG)
        if reaped:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"{pid} still running after {within} s: {stat(pid)}")
        time.sleep(0.02)


class Census:
    """Sandbox processes started since it was opened (see the module docstring)."""

    def __init__(self) -> None:
        self.since = boot_ticks()
        self.servers: set[Proc] = set()
        self.strategies: set[Proc] = set()
        self._ours: set[int] = set()  # servers this process started: their Popen reaps them
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample_until_stopped, daemon=True)

    def started(self, worker: signal_source._Worker) -> None:
        found = proc(worker.process.pid)
        with self._lock:
            self._ours.add(worker.process.pid)
            if found:
                self.servers.add(found)
        self.sample()

    def watch(self, server: int) -> None:
        """Count ``server``, a fork server started by another process."""
        found = proc(server)
        if found:
            with self._lock:
                self.servers.add(found)
        self.sample()

    def sample(self) -> None:
        """Note the strategy processes now below the known servers."""
        with self._lock:
            servers = set(self.servers)
        found = {proc(child) for server in servers for child in children(server.pid)}
        with self._lock:
            self.strategies |= {p for p in found if p is not None and p.start >= self.since}

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(0.02):
            self.sample()

    def below_us(self) -> set[Proc]:
        """Sandbox processes below this one, started since the census opened, that still run (a
        zombie has no command line left to recognise it by)."""
        me, parents, found = os.getpid(), {}, set()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            pid = int(entry.name)
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            info = stat(pid)
            if info is None:
                continue
            parents[pid] = info.ppid
            if info.start >= self.since and SANDBOX in cmdline and info.state != "Z":
                found.add(Proc(pid, info.start))

        def below_me(pid: int) -> bool:
            for _ in range(64):
                pid = parents.get(pid, 0)
                if pid == me:
                    return True
                if pid <= 1:
                    return False
            return False

        return {p for p in found if below_me(p.pid)}

    def running(self, process: Proc) -> bool:
        """False once ``process`` is reaped; an orphan that ended under this process is reaped
        here; any other zombie still runs (nobody reaped it)."""
        info = stat(process.pid)
        if info is None or info.start != process.start:
            return False
        if info.state != "Z":
            return True
        if info.ppid != os.getpid() or process.pid in self._ours:
            return True
        with contextlib.suppress(ChildProcessError):
            os.waitpid(process.pid, os.WNOHANG)
        return stat(process.pid) is not None

    def assert_gone(self, processes: set[Proc], within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while (left := {p for p in processes if self.running(p)}) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not left, f"still there: {sorted((p, stat(p.pid)) for p in left)}"

    def everything(self) -> set[Proc]:
        self.sample()
        with self._lock:
            return self.servers | self.strategies | self.below_us()

    def assert_none_left(self, within: float = 5.0) -> None:
        """No sandbox process started since the census opened is left, reaped or not."""
        self.assert_gone(self.everything(), within)
        self.assert_gone(self.below_us(), 0.0)

    def open(self) -> Census:
        self._sampler.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._sampler.join()


def as_from_a_terminal() -> None:
    """``preexec_fn`` for a child that must see SIGINT as a process started from a terminal does:
    default disposition, not blocked (whatever this test process inherited or was left with: a
    child would inherit an ignored or blocked SIGINT and never see the Ctrl-C a test sends)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
