"""What a single simulation gives besides metrics: its trades and its equity curve."""

from __future__ import annotations

import attrs
import numpy as np

from sixbtc.domain.metrics import Metrics
from sixbtc.domain.position import Direction, ExitReason


@attrs.frozen
class SimulatedTrade:
    """One closed trade. Times are the UTC open times (ms) of the entry and exit bars; the reason
    tells where in the exit bar it filled (its open, a level inside it, or its close)."""

    symbol: str
    direction: Direction = attrs.field(converter=Direction)
    entry_time: int
    entry_price: float
    exit_time: int
    exit_price: float
    reason: ExitReason
    return_on_margin: float


@attrs.frozen(eq=False)
class SimulationRun:
    """One combination on a portfolio: every trade (by exit bar, then coin order), the per-bar
    portfolio equity (``equity[0]`` = 1.0 before ``times[0]``, ``equity[i + 1]`` after bar ``i``)
    and the metrics computed on them."""

    trades: list[SimulatedTrade]
    times: np.ndarray
    equity: np.ndarray
    metrics: Metrics
