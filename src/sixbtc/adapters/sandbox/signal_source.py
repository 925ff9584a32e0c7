"""``SandboxSignalSource``: the :class:`~sixbtc.application.ports.SignalSource` that runs strategy
code in a pool of locked-down worker processes.

Each worker is a fork server (:mod:`.worker`), started with ``exec`` (never ``fork``, so it inherits
no memory of this process) and a clean environment; it locks itself down once and never runs
strategy code itself. Every strategy it is asked about gets a fresh, further confined process forked
from it, which serves that strategy's code only, so no strategy can change the signals computed for
another. The pool keeps each strategy on the worker that last served it, so that the ~180 requests
of a backtest share one fork; a request marked ``fresh`` gets a new one (the validator's ~60
requests use four).
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import weakref

import numpy as np

from sixbtc.adapters.sandbox import protocol
from sixbtc.adapters.sandbox.shared import CandleBuffer, capacity_for
from sixbtc.adapters.sandbox.worker import wall_seconds
from sixbtc.application.errors import ApplicationError, StrategyFailed, StrategyTimeout
from sixbtc.domain.candles import Candles

log = logging.getLogger(__name__)

#: The only environment a worker gets: no secrets, one thread per numeric library, and no
#: background thread of pyarrow's allocator, so that the fork server forks with one thread only.
WORKER_ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMBA_NUM_THREADS": "1",
    "JE_ARROW_MALLOC_CONF": "background_thread:false",
}
_STARTUP_SECONDS = 60.0
#: Time a worker may take beyond a request's own wall-clock limit (to fork, to pass data on).
_MARGIN_SECONDS = 30.0


class SandboxError(ApplicationError):
    """The sandbox itself failed (a worker did not start, died, did not answer in time, could not
    start a strategy process or answered another request; a strategy process was killed from
    outside; or the sandbox was closed): not the strategy's fault."""


class _Worker:
    """One fork server (:mod:`.worker`), its two pipes and the shared buffer its requests' candles
    are written into (:mod:`.shared`)."""

    def __init__(self, memory_mb: int, cpu_total: int, buffer_bytes: int) -> None:
        self.buffer = CandleBuffer(buffer_bytes)
        try:
            self.process = self._spawn(memory_mb, cpu_total, buffer_bytes)
        except BaseException:
            self.buffer.close()
            raise
        finally:
            self.buffer.handed_over()
        self.requests = self.process.stdin.fileno()
        self.replies = self.process.stdout.fileno()
        protocol.widen(self.requests)
        self.served = 0
        #: The code of the last request: the worker's strategy process still serves it.
        self.code: str | None = None
        try:
            ready = protocol.read_frame(self.replies, time.monotonic() + _STARTUP_SECONDS)
        except (protocol.ChannelClosed, protocol.ChannelTimeout) as error:
            self.kill()
            raise SandboxError(f"sandbox worker failed to start: {error}") from None
        if ready[:1] != protocol.READY:
            self.kill()
            raise SandboxError(f"sandbox worker sent {ready[:40]!r} instead of READY")
        self.layers: list[str] = json.loads(ready[1:])["layers"]

    def _spawn(self, memory_mb: int, cpu_total: int, buffer_bytes: int) -> subprocess.Popen:
        return subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-m",
                "sixbtc.adapters.sandbox.worker",
                str(memory_mb),
                str(cpu_total),
                str(self.buffer.readonly_fd),
                str(buffer_bytes),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=WORKER_ENVIRONMENT,
            close_fds=True,
            pass_fds=(self.buffer.readonly_fd,),
            cwd="/",
            # A session of its own: Ctrl-C in a terminal or SIGTERM to the service's process
            # group must not kill it under a strategy in flight; the service closes it itself.
            start_new_session=True,
        )

    def ask(
        self, code: str, candles: Candles, cpu_seconds: int, fresh: bool
    ) -> tuple[bytes, bytearray]:
        """The status and payload of the reply to one request (``candles`` fit in the buffer)."""
        self.buffer.write(candles)
        nonce = protocol.new_nonce()
        header = pickle.dumps((nonce, code, cpu_seconds, len(candles), fresh))
        self.served += 1
        self.code = code
        deadline = time.monotonic() + wall_seconds(cpu_seconds) + _MARGIN_SECONDS
        protocol.write_frame(self.requests, header)
        reply = protocol.read_frame(self.replies, deadline)
        if reply[: protocol.NONCE_SIZE] != nonce:
            self.kill()
            raise SandboxError(
                f"sandbox worker answered another request (nonce {reply[:8].hex()}, "
                f"expected {nonce.hex()})"
            )
        status = bytes(reply[protocol.NONCE_SIZE : protocol.NONCE_SIZE + 1])
        return status, reply[protocol.NONCE_SIZE + 1 :]

    def stop(self) -> None:
        """Kill the fork server (its strategy process dies with it); the pipes stay open."""
        self.process.kill()

    def kill(self) -> None:
        """Kill the fork server, reap it and close its pipes and buffer (by the thread that uses
        them)."""
        self.stop()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()
        self.buffer.close()


def _stop_all(
    live: list[_Worker],
    idle: list[_Worker | None],
    available: threading.Condition,
    closed: threading.Event,
) -> None:
    """Stop every worker. One serving a request is only killed: the thread that uses it sees its
    pipe close, raises SandboxError and retires it, so that no descriptor is closed (and perhaps
    reused for another file) under a thread still reading or writing it."""
    closed.set()
    with available:
        idle_workers = [worker for worker in idle if worker is not None]
        busy = [worker for worker in live if worker not in idle_workers]
        for worker in idle_workers:
            idle.remove(worker)
            live.remove(worker)
        available.notify_all()
    for worker in busy:
        worker.stop()
    for worker in idle_workers:
        worker.kill()


class SandboxSignalSource:
    """Signals from untrusted strategy code, computed in sandboxed worker processes.

    ``workers`` fork servers at most (started on demand, each serving one request at a time, so
    threads may call :meth:`signals` concurrently). A request goes to the idle worker that last
    served the same code, else to a new worker while there is room, else to the least recently
    used one, whose strategy process is then replaced by a fresh fork. Candles reach a worker
    through shared memory (:mod:`.shared`); a request larger than a worker's buffer replaces the
    worker by one with a buffer twice as large or more. Each request gets
    ``cpu_seconds`` of CPU and ``3 * cpu_seconds + 5`` seconds of wall-clock time, and a strategy
    process ``memory_mb`` MiB beyond the server's footprint. A worker is replaced after
    ``max_requests`` requests.
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
        # A strategy process's lifetime CPU, one second above any request's soft limit (see
        # worker._serve_strategy): past that soft limit is a timeout, the hard one a kill.
        self._cpu_total = cpu_seconds * (max_requests + 1) + 1
        #: Idle workers, least recently used first; None is room to start one.
        self._idle: list[_Worker | None] = [None] * self.size
        self._available = threading.Condition()
        self._live: list[_Worker] = []
        self._logged_layers = False
        #: The size of a new worker's candle buffer: grows with the largest request seen.
        self._buffer_bytes = capacity_for(0)
        self._closed = threading.Event()
        self._finalizer = weakref.finalize(
            self, _stop_all, self._live, self._idle, self._available, self._closed
        )

    def _refuse_if_closed(self) -> None:
        if self._closed.is_set():
            raise SandboxError("the sandbox was closed (the service is stopping)")

    def _take(self, code: str | None) -> _Worker | None:
        with self._available:
            while not self._idle:
                self._refuse_if_closed()
                self._available.wait(0.5)
            self._refuse_if_closed()
            same = [w for w in self._idle if w is not None and w.code == code]
            started = [w for w in self._idle if w is not None]
            if same:
                chosen = same[0]
            elif started and (code is None or None not in self._idle):
                chosen = started[0]
            else:
                chosen = None
            self._idle.remove(chosen)
            return chosen

    def _give_back(self, worker: _Worker | None) -> None:
        with self._available:
            self._idle.append(worker)
            self._available.notify()

    def _start(self, bars: int = 0) -> _Worker:
        """A new worker whose buffer holds ``bars`` bars, and as many as any worker before."""
        with self._available:
            self._buffer_bytes = size = max(self._buffer_bytes, capacity_for(bars))
        worker = _Worker(self.memory_mb, self._cpu_total, size)
        with self._available:
            self._live.append(worker)
            if self._closed.is_set():  # closed while it started: it must not outlive the close
                self._live.remove(worker)
                worker.kill()
                self._refuse_if_closed()
            if not self._logged_layers:
                self._logged_layers = True
                missing = [layer for layer in worker.layers if layer.startswith("missing:")]
                log.info("sandbox workers confined by: %s", ", ".join(worker.layers))
                for layer in missing:
                    log.warning("sandbox layer unavailable on this platform: %s", layer)
        return worker

    def _retire(self, worker: _Worker) -> None:
        worker.kill()
        with self._available:
            self._live.remove(worker)

    def layers(self) -> list[str]:
        """The confinement layers a worker and its strategy processes apply here (starting a
        worker if needed)."""
        worker = self._take(None)
        try:
            worker = worker or self._start()
            return list(worker.layers)
        finally:
            self._give_back(worker)

    def signals(self, code: str, candles: Candles, *, fresh: bool = False) -> np.ndarray:
        """Signals of ``code`` on ``candles``: int8, one per bar. Raises StrategyFailed with the
        strategy's error, or StrategyTimeout. ``fresh``: computed by a strategy process that has
        served no other request (a new fork, about 10 ms)."""
        worker = self._take(code)
        try:
            if worker is not None and (
                worker.process.poll() is not None  # died while idle
                or not worker.buffer.fits(len(candles))
            ):
                self._retire(worker)
                worker = None
            worker = worker or self._start(len(candles))
            reply = self._ask(worker, code, candles, fresh)
        finally:
            if worker is not None and (
                worker.process.poll() is not None or worker.served >= self.max_requests
            ):
                self._retire(worker)
                worker = None
            self._give_back(worker)
        return reply

    def _ask(self, worker: _Worker, code: str, candles: Candles, fresh: bool) -> np.ndarray:
        try:
            status, payload = worker.ask(code, candles, self.cpu_seconds, fresh)
        except protocol.ChannelTimeout:  # the server enforces the limits: it is stuck
            worker.kill()
            self._refuse_if_closed()
            raise SandboxError(
                "sandbox worker did not answer within the request's time limit "
                f"({wall_seconds(self.cpu_seconds)} s) and its margin"
            ) from None
        except (protocol.ChannelClosed, OSError):  # the worker died, was killed or was closed
            worker.kill()
            self._refuse_if_closed()
            raise SandboxError("sandbox worker died") from None
        message = payload.decode(errors="replace")
        if status == protocol.SIGNALS and len(payload) == len(candles):
            signals = np.frombuffer(payload, dtype=np.int8).copy()
            if np.all((signals >= -1) & (signals <= 1)):
                return signals
        if status == protocol.ERROR:
            raise StrategyFailed(message)
        if status == protocol.TIMEOUT:
            raise StrategyTimeout(message)
        if status == protocol.BROKEN:
            worker.kill()
            raise SandboxError(message)
        if status == protocol.DIED and message == f"signal {signal.SIGKILL.value}":
            # Not by the sandbox's own limits (those report TIMEOUT or an error): killed from
            # outside, by an operator or the kernel's out-of-memory killer.
            raise SandboxError(f"sandbox strategy process killed ({message})")
        if status == protocol.DIED:
            raise StrategyFailed(f"sandbox strategy process died ({message})")
        raise StrategyFailed(f"sandbox worker sent a malformed reply ({len(payload) + 1} bytes)")

    def close(self) -> None:
        """Stop every worker; requests in flight and later ones raise SandboxError. Safe to call
        from any thread, while others are inside :meth:`signals`, and more than once."""
        self._finalizer()

    def __enter__(self) -> SandboxSignalSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
