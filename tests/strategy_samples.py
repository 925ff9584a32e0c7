"""Candles and strategy sources shared by the strategy tests."""

from __future__ import annotations

import numpy as np

from sixbtc.domain.candles import Candles
from sixbtc.domain.timeframe import Timeframe


def random_walk(bars: int = 600, seed: int = 0) -> Candles:
    """A small hourly geometric random walk with plausible highs, lows and volumes."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, bars)))
    open_ = np.concatenate([[100.0], close[:-1]])
    spread = np.abs(rng.normal(0.0, 0.004, bars)) * close
    return Candles(
        "TEST",
        Timeframe.H1,
        np.arange(bars, dtype=np.int64) * 3_600_000,
        open_,
        np.maximum(open_, close) + spread,
        np.minimum(open_, close) - spread,
        close,
        rng.lognormal(3.0, 0.5, bars),
    )


def strategy(body: str, *, imports: str = "import numpy as np", warmup: int = 60) -> str:
    """Source of a strategy class whose ``signals(self, bars)`` has ``body`` (4-space indented
    lines, without the method's own indentation)."""
    indented = "\n".join(f"        {line}" if line else "" for line in body.strip("\n").split("\n"))
    return (
        f"{imports}\n\n\n"
        "class Sample:\n"
        '    strategy_type = "MOM"\n'
        '    parameters = {"length": 20}\n'
        f"    warmup = {warmup}\n\n"
        "    def signals(self, bars):\n"
        f"{indented}\n"
    )


EMA_CROSS = strategy(
    """
fast = ta.ema(bars.close, 12)
slow = ta.ema(bars.close, 48)
return np.where(fast > slow, 1, np.where(fast < slow, -1, 0))
""",
    imports="import numpy as np\nfrom sixbtc import indicators as ta",
    warmup=960,
)
