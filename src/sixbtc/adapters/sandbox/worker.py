"""The sandbox worker: ``python -I -m sixbtc.adapters.sandbox.worker MEMORY_MB CPU_TOTAL FD SIZE``.

A fork server. It maps the read-only candle buffer ``FD`` of ``SIZE`` bytes (:mod:`.shared`),
imports everything a strategy may use, exercises it once so that lazy imports are done, confines
itself (:func:`.confinement.confine_server`), reports ``READY`` with the layers
applied, then answers requests on its stdin with replies on its stdout until stdin closes.

Strategy code never runs in the server. Each strategy gets a process forked from it that confines
itself further (:func:`.confinement.confine_strategy_process`) and serves requests for that one
strategy's code only; a request for other code, any failure or the server's end ends it, and the
next strategy gets a fresh fork. Whatever a strategy changes in its process's memory (module
attributes, the runtime, the indicator helpers) dies with it, and it holds no descriptor but its own
two pipes to the server, so it can neither answer another strategy's request nor reach the parent.
A request marked ``fresh`` is answered by a process that has served nothing before: the validator
starts each group of requests it compares that way (see ``sixbtc.application.validate``).
Each request gets ``cpu_seconds`` of CPU (past that the kernel stops the strategy process) and
``3 * cpu_seconds + 5`` seconds of wall-clock time, enforced by the server.

No process outlives its use. A strategy process sees the end of its requests when the server goes,
and is killed with it (:func:`.confinement.die_with_parent`). The server ends when its stdin closes:
when its parent closes it or dies, even while it waits on a strategy process (it watches stdin
meanwhile; the parent never sends a request before the reply to the last one).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import mmap
import os
import pickle
import resource
import signal
import sys
import time

import numpy as np

from sixbtc import indicators
from sixbtc.adapters.sandbox import confinement, protocol, shared
from sixbtc.adapters.sandbox.runtime import StrategyFailure, StrategyRuntime

_EXERCISE = """
import math
import numpy as np
import pandas as pd
from sixbtc import indicators as ta

class Exercise:
    strategy_type = "MOM"
    parameters = {}
    warmup = 60

    def signals(self, bars):
        close = bars.close
        parts = [ta.%s for _ in [0]]
        r = close.rolling(5)
        extra = [r.mean(), r.std(), r.max(), r.min(), r.sum(), r.median(), r.quantile(0.5),
                 close.expanding().max(), close.ewm(span=5).mean(), close.shift(1).fillna(0.0),
                 close.diff().abs().clip(0, 1).round(2), close.pct_change(fill_method=None),
                 pd.Series(np.sign(close.diff().to_numpy())).where(close > 0, 0)]
        x = close.to_numpy()
        times = pd.to_datetime(bars.time, unit="ms")
        hourly = pd.Series(x, index=times).resample("4h").last().reindex(times).ffill()
        extra += [hourly.reset_index(drop=True), times.dt.hour + times.dt.day_of_week,
                  pd.Series(np.convolve(x, np.ones(3), mode="full")[: len(x)] + np.gradient(x)
                            + np.polyval(np.polyfit(np.arange(len(x)), x, 1), 0.0)
                            + np.fft.irfft(np.fft.rfft(x), len(x)))]
        frame = pd.concat(extra, axis=1).ffill()
        out = np.where(frame.iloc[:, 0].to_numpy() > close.to_numpy(), 1, 0)
        return np.nan_to_num(out + 0 * math.floor(1.5)).astype(int)
"""


def _exercise(runtime: StrategyRuntime) -> None:
    """Call every helper and the usual numpy and pandas paths once (some import modules on first
    use: ``np.fft``, dates, resampling), before the file system disappears."""
    rng = np.random.default_rng(0)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    arrays = {
        "time": np.arange(300, dtype=np.int64) * 60_000,
        "open": close,
        "high": close * 1.01,
        "low": close * 0.99,
        "close": close,
        "volume": rng.uniform(1, 2, 300),
    }
    calls = {
        "atr": "atr(bars.high, bars.low, close, 14)",
        "bollinger": "bollinger(close, 20, 2.0)[0]",
        "cci": "cci(bars.high, bars.low, close, 20)",
        "donchian": "donchian(bars.high, bars.low, 20)[0]",
        "keltner": "keltner(bars.high, bars.low, close, 20, 2.0)[0]",
        "macd": "macd(close)[2]",
        "obv_slope": "obv_slope(close, bars.volume, 20)",
        "stochastic": "stochastic(bars.high, bars.low, close)[0]",
        "true_range": "true_range(bars.high, bars.low, close)",
        "volume_ratio": "volume_ratio(bars.volume, 20)",
        "williams_r": "williams_r(bars.high, bars.low, close)",
    }
    for name in indicators.__all__:
        call = calls.get(name, "ewm_warmup(3)" if name == "ewm_warmup" else f"{name}(close, 10)")
        runtime.signals(_EXERCISE % call, arrays)


def wall_seconds(cpu_seconds: int) -> float:
    """Wall-clock time a request may take in a strategy process."""
    return 3 * cpu_seconds + 5


class _StrategyProcess:
    """A process forked from the server, serving one strategy's code (None: none yet)."""

    def __init__(self, pid: int, requests: int, replies: int) -> None:
        self.code: str | None = None
        self.pid, self.requests, self.replies = pid, requests, replies
        #: Its wait status once reaped.
        self.status: int | None = None
        #: Its confinement layers, the first frame it sends.
        self.layers: list[str] = json.loads(protocol.read_frame(replies, time.monotonic() + 30))

    def exited(self, within: float) -> bool:
        """Whether the process exits (and is reaped) within ``within`` seconds."""
        deadline = time.monotonic() + within
        while self.status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
            elif time.monotonic() >= deadline:
                return False
            else:
                time.sleep(0.005)
        return True

    def end(self) -> int:
        """Kill the process if it still runs, reap it and return its wait status."""
        if self.status is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            _, self.status = os.waitpid(self.pid, 0)
        os.close(self.requests)
        os.close(self.replies)
        return self.status


class ForkServer:
    """Answers requests by passing them to the strategy process of their code."""

    def __init__(
        self, runtime: StrategyRuntime, memory_mb: int, cpu_total: int, candles: mmap.mmap
    ) -> None:
        self.runtime = runtime
        #: The parent's candle buffer, mapped read-only; strategy processes inherit the mapping.
        self.candles = candles
        self._extra = memory_mb * 1024 * 1024
        self.cpu_total = cpu_total
        # Opened before the lock-down: the server's size, to size a strategy process's memory limit.
        self._statm = os.open("/proc/self/statm", os.O_RDONLY)
        self._process: _StrategyProcess | None = None
        #: The parent's request pipe, watched while a strategy process works (see the docstring).
        self._parent: int | None = None

    def confine(self, requests: int, replies: int) -> list[str]:
        """Lock the server down; then fork a first strategy process to learn its layers."""
        # The server runs no strategy code: twice the room, so that a strategy process, limited
        # to the server's current size plus ``memory_mb``, fits under the server's own limit.
        layers = confinement.confine_server(
            {requests, replies, self._statm}, self._size() + 2 * self._extra, self.cpu_total
        )
        gc.freeze()  # the objects a fork shares, kept out of the collector so they stay shared
        self._parent = requests
        self._process = self._fork()
        return layers + self._process.layers

    def _size(self) -> int:
        """The server's address space in bytes."""
        return int(os.pread(self._statm, 100, 0).split()[0]) * os.sysconf("SC_PAGE_SIZE")

    def _fork(self) -> _StrategyProcess:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        memory = min(self._size() + self._extra, resource.getrlimit(resource.RLIMIT_AS)[1])
        server = os.getpid()
        pid = os.fork()
        if pid == 0:
            try:
                layers = confinement.confine_strategy_process(
                    {request_read, reply_write}, memory, self.cpu_total, server
                )
                protocol.write_frame(reply_write, json.dumps(layers).encode())
                _serve_strategy(
                    self.runtime, self.candles, request_read, reply_write, self.cpu_total
                )
            finally:
                os._exit(0)
        os.close(request_read)
        os.close(reply_write)
        os.set_blocking(request_write, False)
        protocol.widen(request_write)
        try:
            return _StrategyProcess(pid, request_write, reply_read)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            os.close(request_write)
            os.close(reply_read)
            raise

    def _end_process(self) -> int:
        process, self._process = self._process, None
        return process.end() if process else 0

    def answer(self, header: bytearray) -> bytes:
        """The reply to one request (its frame; the candles are in the buffer), starting with its
        nonce. Raises protocol.Hangup when the parent goes away meanwhile."""
        nonce, code, cpu_seconds, bars, fresh = pickle.loads(header)
        deadline = time.monotonic() + wall_seconds(cpu_seconds)
        used = self._process is not None and self._process.code is not None
        if self._process is None or self._process.code not in (None, code) or (fresh and used):
            self._end_process()
            try:
                self._process = self._fork()
            except (protocol.ChannelClosed, protocol.ChannelTimeout) as error:
                return nonce + protocol.BROKEN + f"no strategy process: {error}".encode()
        process = self._process
        process.code = code
        try:
            protocol.write_frame(process.requests, header, deadline, self._parent)
            reply = protocol.read_frame(process.replies, deadline, bars + 4096, self._parent)
        except protocol.ChannelTimeout:
            self._end_process()
            return (
                nonce
                + protocol.TIMEOUT
                + f"no signals within {wall_seconds(cpu_seconds)} s".encode()
            )
        except protocol.FrameTooLarge as error:
            self._end_process()
            return nonce + protocol.MALFORMED + str(error).encode()
        except (protocol.ChannelClosed, BrokenPipeError):
            # Its pipe closes when it dies; if it lives on, its code closed the pipe itself.
            if process.exited(within=1.0):
                return nonce + _death(self._end_process(), cpu_seconds)
            self._end_process()
            return nonce + protocol.DIED + b"closed its pipe to the server"
        status = reply[protocol.NONCE_SIZE : protocol.NONCE_SIZE + 1]
        if reply[: protocol.NONCE_SIZE] != nonce or status not in (
            protocol.SIGNALS,
            protocol.ERROR,
        ):
            self._end_process()
            return nonce + protocol.MALFORMED + f"{len(reply)} bytes".encode()
        if status == protocol.ERROR:
            self._end_process()  # a failed strategy's process may be in any state: start afresh
        return reply

    def close(self) -> None:
        self._end_process()


def _death(status: int, cpu_seconds: int) -> bytes:
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXCPU:
        return protocol.TIMEOUT + f"CPU time limit of {cpu_seconds} s exceeded".encode()
    if os.WIFSIGNALED(status):
        return protocol.DIED + f"signal {os.WTERMSIG(status)}".encode()
    return protocol.DIED + f"exit status {os.waitstatus_to_exitcode(status)}".encode()


def _read_request(fd: int) -> bytearray:
    """A request's frame: nonce, code, limits and the number of bars in the buffer."""
    return protocol.read_frame(fd, limit=1 << 24)


def _serve_strategy(
    runtime: StrategyRuntime, candles: mmap.mmap, requests: int, replies: int, cpu_total: int
) -> None:
    """The strategy process's loop: one reply per request until the server closes the pipe."""
    while True:
        try:
            header = _read_request(requests)
        except protocol.ChannelClosed:
            return
        nonce, code, cpu_seconds, bars, _ = pickle.loads(header)
        arrays = shared.read_columns(candles, bars)
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = math.ceil(used.ru_utime + used.ru_stime)
        # The soft limit (SIGXCPU: a timeout) stays below the hard one (SIGKILL, which the parent
        # takes for a kill from outside, not the strategy's fault).
        soft = max(1, min(spent + cpu_seconds, cpu_total - 1))
        resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_total))
        try:
            reply = protocol.SIGNALS + runtime.signals(code, arrays).tobytes()
        except StrategyFailure as failure:
            reply = protocol.ERROR + str(failure)[:1000].encode(errors="replace")
        protocol.write_frame(replies, nonce + reply)


def main(argv: list[str]) -> None:
    memory_mb, cpu_total = int(argv[0]), int(argv[1])
    candles = shared.map_readonly(int(argv[2]), int(argv[3]))
    runtime = StrategyRuntime()
    _exercise(runtime)
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    server = ForkServer(runtime, memory_mb, cpu_total, candles)
    layers = server.confine(requests, replies)
    try:
        protocol.write_frame(replies, protocol.READY + json.dumps({"layers": layers}).encode())
        while True:
            protocol.write_frame(replies, server.answer(_read_request(requests)))
    except (protocol.ChannelClosed, protocol.Hangup, BrokenPipeError):
        pass  # the parent closed the channel or is gone
    finally:
        server.close()


if __name__ == "__main__":
    main(sys.argv[1:])
    # No interpreter shutdown: it would close the candle mapping's descriptor, which the
    # lock-down closed already (its number may be another's now).
    os._exit(0)
