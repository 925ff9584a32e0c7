"""Shared fixtures and test settings; a run fails when a sandbox process outlives it."""

from __future__ import annotations

import ctypes
import os
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


# --- no sandbox process may outlive the test run ----------------------------------------------

_PR_SET_CHILD_SUBREAPER = 36
_SANDBOX = b"sixbtc.adapters.sandbox.worker"
#: When the session started (clock ticks after boot, as a process's start time), and whether this
#: process is a child subreaper (else orphans go to init and are recognised by their start time).
_session = {"start": 0, "subreaper": False}


def _running_descendants(root: int) -> list[tuple[int, str]]:
    """Sandbox processes below ``root`` that still run (zombies excluded); without a subreaper,
    also those adopted by init that started after the session."""
    parents, found, starts = {}, {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[1])
        starts[int(entry.name)] = int(stat[19])
        if stat[0] != "Z" and _SANDBOX in cmdline:
            found[int(entry.name)] = cmdline.replace(b"\0", b" ").decode(errors="replace")

    def below_root(pid: int) -> bool:
        start = starts[pid]
        while pid > 1:
            pid = parents.get(pid, 0)
            if pid == root:
                return True
        return pid == 1 and start >= _session["start"] and not _session["subreaper"]

    return [(pid, cmd) for pid, cmd in found.items() if below_root(pid)]


def pytest_sessionstart(session: pytest.Session) -> None:
    """Orphans of this run are re-parented to pytest (not to init), so that the end of the run can
    find every sandbox process the tests left behind (none can come from another run). Where
    that is refused, sandbox processes adopted by init that started after this session count."""
    _session["start"] = int(time.clock_gettime(time.CLOCK_BOOTTIME) * os.sysconf("SC_CLK_TCK"))
    libc = ctypes.CDLL(None, use_errno=True)
    _session["subreaper"] = libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    deadline = time.monotonic() + 5
    while (left := _running_descendants(os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.1)
    if left:
        print(f"\n{len(left)} sandbox processes outlived the tests:", file=sys.stderr)
        for pid, cmdline in left:
            print(f"  {pid} {cmdline}", file=sys.stderr)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
