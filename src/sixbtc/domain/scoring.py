"""The score (0..100) of a strategy from its metrics: one formula for backtest and live."""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from sixbtc.domain.metrics import Metrics
from sixbtc.domain.timeframe import Timeframe


def _clip01(value: float) -> float:
    return min(1.0, max(0.0, value))


def degradation(reference_sharpe: float, observed_sharpe: float) -> float:
    """``(reference - observed) / |reference|``: how much worse the observed Sharpe is.

    With a zero reference there is nothing to degrade from: 0.0 unless the observed Sharpe is
    negative, which counts as full degradation (1.0).
    """
    if reference_sharpe == 0.0:
        return 0.0 if observed_sharpe >= 0.0 else 1.0
    return (reference_sharpe - observed_sharpe) / abs(reference_sharpe)


@attrs.frozen
class ScoringWeights:
    """Weights of the five normalised terms; they must be non-negative and sum to 1."""

    expectancy: float = 0.40
    sharpe: float = 0.25
    win_rate: float = 0.10
    drawdown: float = 0.15
    recency: float = 0.10

    def __attrs_post_init__(self) -> None:
        values = attrs.asdict(self)
        for name, value in values.items():
            if value < 0:
                raise ValueError(f"{name}: {value} is negative; expected >= 0")
        total = sum(values.values())
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"they sum to {total}; expected 1.0")


@attrs.frozen
class ScoringBounds:
    """Where each normalised term saturates.

    ``expectancy_full``: mean trade return scoring 1; ``sharpe_full``: Sharpe scoring 1;
    ``drawdown_zero``: drawdown scoring 0; ``recency_offset``: recency term at zero degradation.
    """

    expectancy_full: float = 0.10
    sharpe_full: float = 3.0
    drawdown_zero: float = 0.30
    recency_offset: float = 0.5

    def __attrs_post_init__(self) -> None:
        for name in ("expectancy_full", "sharpe_full", "drawdown_zero"):
            value = getattr(self, name)
            if value <= 0:
                raise ValueError(f"{name}: {value}; expected a number > 0")


@attrs.frozen
class ScoringPolicy:
    """Turns metrics into a score from 0 to 100 (spec section 3).

    ``training_weight`` / ``holdout_weight`` blend the two backtest windows (40% / 60%);
    ``min_trades`` is the minimum trade count per timeframe below which a backtest scores 0.
    """

    weights: ScoringWeights = ScoringWeights()
    bounds: ScoringBounds = ScoringBounds()
    training_weight: float = 0.40
    holdout_weight: float = 0.60
    min_trades: Mapping[Timeframe, int] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        if abs(self.training_weight + self.holdout_weight - 1.0) > 1e-9:
            raise ValueError(
                "training_weight + holdout_weight: "
                f"{self.training_weight} + {self.holdout_weight}; expected a sum of 1.0"
            )

    def score(self, metrics: Metrics, degradation: float) -> float:
        """The raw formula: 100 * weighted sum of the clipped terms; always within [0, 100]."""
        w, b = self.weights, self.bounds
        total = (
            w.expectancy * _clip01(metrics.expectancy / b.expectancy_full)
            + w.sharpe * _clip01(metrics.sharpe / b.sharpe_full)
            + w.win_rate * _clip01(metrics.win_rate)
            + w.drawdown * _clip01(1.0 - metrics.max_drawdown / b.drawdown_zero)
            + w.recency * _clip01(b.recency_offset - degradation)
        )
        return min(100.0, max(0.0, 100.0 * total))

    def backtest_score(self, training: Metrics, holdout: Metrics, timeframe: Timeframe) -> float:
        """Score of a backtest: metrics weighted 40/60 across the windows, degradation train->holdout.

        Scores 0 when the two windows together have fewer trades than ``min_trades[timeframe]``.
        """
        if training.trades + holdout.trades < self.min_trades.get(timeframe, 0):
            return 0.0
        weighted = training.weighted_with(holdout, self.holdout_weight)
        return self.score(weighted, degradation(training.sharpe, holdout.sharpe))

    def training_score(self, training: Metrics, timeframe: Timeframe) -> float:
        """Score of the training window alone, which chooses the timeframe and parameters: the
        formula with no degradation; 0 below ``min_trades[timeframe]`` trades."""
        if training.trades < self.min_trades.get(timeframe, 0):
            return 0.0
        return self.score(training, 0.0)

    def live_score(self, live: Metrics, backtest_sharpe: float) -> float:
        """Score of live trading, its degradation measured against the backtest's Sharpe."""
        return self.score(live, degradation(backtest_sharpe, live.sharpe))
