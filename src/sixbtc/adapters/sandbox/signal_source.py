"""``SandboxSignalSource``: the :class:`~sixbtc.application.ports.SignalSource` that runs strategy
code in a pool of long-lived, locked-down worker processes.

Workers are started with ``exec`` (never ``fork``, so they inherit no memory of this process) and a
clean environment, then lock themselves down once (see :mod:`.confinement`) and serve many
requests. A request that overruns its CPU or wall-clock limit, or exhausts memory, costs that worker
its life; a new one is started for the next request.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import time
import weakref

import numpy as np

from sixbtc.adapters.sandbox import protocol
from sixbtc.application.errors import ApplicationError, StrategyFailed, StrategyTimeout
from sixbtc.domain.candles import Candles

log = logging.getLogger(__name__)

#: The only environment a worker gets: no secrets, one thread per numeric library.
WORKER_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
}
_STARTUP_SECONDS = 60.0


class SandboxError(ApplicationError):
    """A sandbox worker could not be started."""


class _Worker:
    """One locked-down child process and its two pipes."""

    def __init__(self, memory_mb: int, cpu_total: int) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-m",
                "sixbtc.adapters.sandbox.worker",
                str(memory_mb),
                str(cpu_total),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=WORKER_ENVIRONMENT,
            close_fds=True,
            cwd="/",
        )
        self.requests = self.process.stdin.fileno()
        self.replies = self.process.stdout.fileno()
        self.served = 0
        try:
            ready = protocol.read_frame(self.replies, time.monotonic() + _STARTUP_SECONDS)
        except (protocol.ChannelClosed, protocol.ChannelTimeout) as error:
            self.kill()
            raise SandboxError(f"sandbox worker failed to start: {error}") from None
        if ready[:1] != protocol.READY:
            self.kill()
            raise SandboxError(f"sandbox worker sent {ready[:40]!r} instead of READY")
        self.layers: list[str] = json.loads(ready[1:])["layers"]

    def ask(self, code: str, candles: Candles, cpu_seconds: int, wall_seconds: float) -> bytes:
        arrays = {
            name: getattr(candles, name)
            for name in ("time", "open", "high", "low", "close", "volume")
        }
        request = pickle.dumps((code, arrays, cpu_seconds), protocol=pickle.HIGHEST_PROTOCOL)
        self.served += 1
        protocol.write_frame(self.requests, request)
        return protocol.read_frame(self.replies, time.monotonic() + wall_seconds)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()

    def death(self) -> int | None:
        """The signal that killed the process, if it died of one."""
        try:
            code = self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return None
        return -code if code < 0 else None


def _kill_all(workers: list[_Worker]) -> None:
    for worker in workers:
        worker.kill()


class SandboxSignalSource:
    """Signals from untrusted strategy code, computed in sandboxed worker processes.

    ``workers`` processes at most (started on demand, each serving one request at a time, so
    threads may call :meth:`signals` concurrently); each request gets ``cpu_seconds`` of CPU and
    ``3 * cpu_seconds + 5`` seconds of wall-clock time and its worker ``memory_mb`` MiB beyond its
    start-up footprint. A worker is replaced after ``max_requests`` requests.
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        cpu_seconds: int = 10,
        memory_mb: int = 1024,
        max_requests: int = 5000,
    ) -> None:
        if cpu_seconds < 1:
            raise ValueError(f"cpu_seconds: {cpu_seconds}; expected an integer >= 1")
        self.size = workers or os.cpu_count() or 1
        self.cpu_seconds = cpu_seconds
        self.memory_mb = memory_mb
        self.max_requests = max_requests
        self._cpu_total = cpu_seconds * (max_requests + 1)
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(self.size):
            self._idle.put(None)  # a slot where a worker may be started
        self._live: list[_Worker] = []
        self._lock = threading.Lock()
        self._logged_layers = False
        self._finalizer = weakref.finalize(self, _kill_all, self._live)

    def _start(self) -> _Worker:
        worker = _Worker(self.memory_mb, self._cpu_total)
        with self._lock:
            self._live.append(worker)
            if not self._logged_layers:
                self._logged_layers = True
                missing = [layer for layer in worker.layers if layer.startswith("missing:")]
                log.info("sandbox workers confined by: %s", ", ".join(worker.layers))
                for layer in missing:
                    log.warning("sandbox layer unavailable on this platform: %s", layer)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._lock:
            self._live.remove(worker)

    def layers(self) -> list[str]:
        """The confinement layers a worker applies here (starting one if needed)."""
        worker = self._idle.get()
        try:
            worker = worker or self._start()
            return list(worker.layers)
        finally:
            self._idle.put(worker)

    def signals(self, code: str, candles: Candles) -> np.ndarray:
        """Signals of ``code`` on ``candles``: int8, one per bar. Raises StrategyFailed with the
        strategy's error, or StrategyTimeout."""
        worker = self._idle.get()
        try:
            worker = worker or self._start()
            reply = self._ask(worker, code, candles)
        except BaseException:
            if worker is not None and worker.process.poll() is not None:
                self._retire(worker)
                worker = None
            raise
        finally:
            if worker is not None and worker.served >= self.max_requests:
                self._retire(worker)
                worker = None
            self._idle.put(worker)
        return reply

    def _ask(self, worker: _Worker, code: str, candles: Candles) -> np.ndarray:
        try:
            reply = worker.ask(code, candles, self.cpu_seconds, 3 * self.cpu_seconds + 5)
        except protocol.ChannelTimeout:
            worker.kill()
            raise StrategyTimeout(f"no signals within {3 * self.cpu_seconds + 5} s") from None
        except (protocol.ChannelClosed, BrokenPipeError):
            killed_by = worker.death()
            if killed_by == signal.SIGXCPU:
                raise StrategyTimeout(f"CPU time limit of {self.cpu_seconds} s exceeded") from None
            raise StrategyFailed(f"sandbox worker died (signal {killed_by})") from None
        status, payload = reply[:1], reply[1:]
        if status == protocol.SIGNALS and len(payload) == len(candles):
            signals = np.frombuffer(payload, dtype=np.int8).copy()
            if np.all((signals >= -1) & (signals <= 1)):
                return signals
        if status == protocol.ERROR:
            message = payload.decode(errors="replace")
            if message.startswith(("MemoryError", "RecursionError")):
                worker.kill()  # its heap may be in a bad state: start afresh
            raise StrategyFailed(message)
        worker.kill()
        raise StrategyFailed(f"sandbox worker sent a malformed reply ({len(reply)} bytes)")

    def close(self) -> None:
        """Stop every worker."""
        self._finalizer()

    def __enter__(self) -> SandboxSignalSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
