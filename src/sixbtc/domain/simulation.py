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
    direction: Direction = attrs.field(validator=attrs.validators.instance_of(Direction))
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


def joined_equity(training: SimulationRun, holdout: SimulationRun) -> list[tuple[int, float]]:
    """(bar open time in UTC ms, equity after the bar) across both windows, the holdout's curve
    continuing from where training ended."""
    points = list(zip(training.times.tolist(), training.equity[1:].tolist(), strict=True))
    last = points[-1][1] if points else 1.0
    points += [
        (t, last * v)
        for t, v in zip(holdout.times.tolist(), holdout.equity[1:].tolist(), strict=True)
    ]
    return points


def downsampled(points: list[tuple[int, float]], most: int) -> tuple[tuple[int, float], ...]:
    """At most ``most`` of ``points``, evenly spaced, the first and the last always kept."""
    if len(points) <= most:
        return tuple(points)
    picked = np.unique(np.linspace(0, len(points) - 1, most).round().astype(int))
    return tuple(points[i] for i in picked)
