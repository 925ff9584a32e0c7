"""The sandbox worker process: ``python -I -m sixbtc.adapters.sandbox.worker MEMORY_MB CPU_TOTAL``.

It imports everything a strategy may use, exercises it once so that lazy imports are done, locks
itself down (:mod:`confinement`), reports ``READY`` with the layers applied, then answers requests
(pickled ``(code, arrays, cpu_seconds)``) on its stdin with replies on its stdout until stdin
closes. Each request gets ``cpu_seconds`` of CPU; past that the kernel kills the worker (SIGXCPU).
"""

from __future__ import annotations

import json
import math
import os
import pickle
import resource
import sys

import numpy as np

from sixbtc import indicators
from sixbtc.adapters.sandbox import confinement, protocol
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
        frame = pd.concat(extra, axis=1).ffill()
        out = np.where(frame.iloc[:, 0].to_numpy() > close.to_numpy(), 1, 0)
        return np.nan_to_num(out + 0 * math.floor(1.5)).astype(int)
"""


def _exercise(runtime: StrategyRuntime) -> None:
    """Call every helper and the usual pandas paths once, before the file system disappears."""
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


def _reply(fd: int, status: bytes, payload: bytes) -> None:
    protocol.write_frame(fd, status + payload)


def main(argv: list[str]) -> None:
    memory_mb, cpu_total = int(argv[0]), int(argv[1])
    runtime = StrategyRuntime()
    _exercise(runtime)
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with open("/proc/self/statm") as statm:
        virtual = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    layers = confinement.lock_down(
        {requests, replies}, virtual + memory_mb * 1024 * 1024, cpu_total
    )
    _reply(replies, protocol.READY, json.dumps({"layers": layers, "rss": baseline}).encode())
    while True:
        try:
            request = protocol.read_frame(requests, limit=1 << 31)
        except protocol.ChannelClosed:
            return
        code, arrays, cpu_seconds = pickle.loads(request)
        used = resource.getrusage(resource.RUSAGE_SELF)
        spent = math.ceil(used.ru_utime + used.ru_stime)
        soft = min(spent + cpu_seconds, cpu_total)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, cpu_total))
        try:
            signals = runtime.signals(code, arrays)
        except StrategyFailure as failure:
            _reply(replies, protocol.ERROR, str(failure)[:1000].encode(errors="replace"))
        else:
            _reply(replies, protocol.SIGNALS, signals.tobytes())


if __name__ == "__main__":
    main(sys.argv[1:])
