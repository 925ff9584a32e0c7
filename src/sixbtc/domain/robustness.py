"""Research-validity gates between the backtest and the pool (spec section 12): the Deflated Sharpe
Ratio, the permutation p-value and the minimum trade counts.

Units: every Sharpe ratio here is per bar and not annualised (``mean / std`` of one bar's simple
returns, population standard deviation), the unit of Bailey and Lopez de Prado's formulas. An
annualised Sharpe ``S`` on a timeframe with ``B`` bars a year is ``S / sqrt(B)`` per bar.

Formulas (Bailey and Lopez de Prado, "The Deflated Sharpe Ratio", 2014), with ``SR`` the observed
per-bar Sharpe, ``T`` the number of returns, ``g3`` their skewness and ``g4`` their (non-excess)
kurtosis, ``Z`` the standard normal CDF:

- probabilistic Sharpe against a benchmark ``SR0``:
  ``PSR = Z((SR - SR0) * sqrt(T - 1) / sqrt(1 - g3 * SR + (g4 - 1) / 4 * SR^2))``;
- expected maximum Sharpe of ``N`` independent trials on noise whose Sharpe ratios have variance
  ``V``: ``SR0 = sqrt(V) * ((1 - e) * Zinv(1 - 1/N) + e * Zinv(1 - 1/(N * exp(1))))``, ``e`` the
  Euler-Mascheroni constant;
- ``DSR = PSR(SR0)``: the probability that the true Sharpe is above the best one expected from
  that many trials on noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import attrs
import numpy as np

from sixbtc.domain.metrics import Metrics
from sixbtc.domain.reasons import Code, Reason

EULER_MASCHERONI = 0.5772156649015329
_NORMAL = NormalDist()


@attrs.frozen
class ReturnMoments:
    """Per-bar statistics of a return series: Sharpe (``mean / std``), count, skewness and
    kurtosis (non-excess: 3 for a normal law). A series that does not move has Sharpe 0 and the
    normal law's shape (skewness 0, kurtosis 3)."""

    sharpe: float
    count: int
    skewness: float = 0.0
    kurtosis: float = 3.0

    @classmethod
    def of(cls, returns: np.ndarray) -> ReturnMoments:
        """The moments of ``returns`` (per-bar simple returns), population estimators."""
        values = np.asarray(returns, dtype=float)
        if values.size < 2:
            return cls(0.0, int(values.size))
        deviations = values - values.mean()
        std = float(np.sqrt(np.mean(deviations**2)))
        if std <= 1e-15:
            return cls(0.0, int(values.size))
        standard = deviations / std
        return cls(
            sharpe=float(values.mean()) / std,
            count=int(values.size),
            skewness=float(np.mean(standard**3)),
            kurtosis=float(np.mean(standard**4)),
        )

    @classmethod
    def of_equity(cls, equity: np.ndarray) -> ReturnMoments:
        """The moments of the per-bar simple returns of an equity curve (see
        :func:`sixbtc.domain.metrics.sharpe_ratio`, whose annualised value is
        ``sharpe * sqrt(bars_per_year)``)."""
        curve = np.asarray(equity, dtype=float)
        return cls.of(curve[1:] / curve[:-1] - 1.0 if curve.size > 1 else curve[:0])


def probabilistic_sharpe(moments: ReturnMoments, benchmark: float) -> float:
    """Probability that the true per-bar Sharpe exceeds ``benchmark`` (per bar), given the
    observed one, the number of returns and their shape; 0.5 with fewer than two returns."""
    if moments.count < 2:
        return 0.5
    sr = moments.sharpe
    spread = 1.0 - moments.skewness * sr + (moments.kurtosis - 1.0) / 4.0 * sr * sr
    # Sample moments keep ``spread >= (1 - skewness * sr / 2)^2 >= 0``; the floor only avoids 0/0.
    z = (sr - benchmark) * math.sqrt(moments.count - 1) / math.sqrt(max(spread, 1e-12))
    return _NORMAL.cdf(z)


def expected_maximum_sharpe(trials: int, variance: float) -> float:
    """The Sharpe (per bar) expected from the best of ``trials`` independent trials with zero true
    Sharpe whose observed Sharpe ratios have ``variance``; 0 for one trial or no variance."""
    if trials < 1:
        raise ValueError(f"trials: {trials}; expected an integer >= 1")
    if variance < 0:
        raise ValueError(f"variance: {variance}; expected >= 0")
    if trials == 1 or variance == 0.0:
        return 0.0
    g = EULER_MASCHERONI
    spread = (1 - g) * _NORMAL.inv_cdf(1 - 1 / trials) + g * _NORMAL.inv_cdf(
        1 - 1 / (trials * math.e)
    )
    return math.sqrt(variance) * spread


@attrs.frozen
class DeflatedSharpe:
    """A deflated Sharpe ratio with what it was computed from (Sharpe figures per bar)."""

    value: float
    moments: ReturnMoments
    trials: int
    benchmark: float

    @classmethod
    def of(cls, moments: ReturnMoments, groups: Sequence[Sequence[float]]) -> DeflatedSharpe:
        """The DSR of the chosen configuration's ``moments`` against every trial's per-bar Sharpe
        (the chosen one included; all in the same per-bar unit), given in groups of comparable
        trials (one group per timeframe).

        The trials' variance is the pooled variance within groups (:func:`pooled_variance`), and
        at least ``1 / count``: the sampling variance of a per-bar Sharpe estimated on ``count``
        returns whose true Sharpe is 0, the least that independent trials on noise would show.
        """
        trials = sum(len(group) for group in groups)
        if trials == 0:
            raise ValueError("groups: no trial; expected at least the chosen one")
        floor = 1.0 / moments.count if moments.count else 0.0
        benchmark = expected_maximum_sharpe(trials, max(pooled_variance(groups), floor))
        return cls(probabilistic_sharpe(moments, benchmark), moments, trials, benchmark)


def pooled_variance(groups: Sequence[Sequence[float]]) -> float:
    """The variance of values around their own group's mean (population, over all values).

    With one group it is the plain variance. Between groups it leaves out differences of level:
    per-bar Sharpe ratios of different timeframes differ in level for reasons that are not
    selection noise (a real edge lives on one timeframe; Sharpe ratios of bar returns do not scale
    exactly with the square root of time), and counting those differences as noise would raise
    the bar for the very strategies that have an edge.
    """
    deviations = [np.asarray(g, dtype=float) - np.mean(g) for g in groups if len(g)]
    if not deviations:
        return 0.0
    every = np.concatenate(deviations)
    return float(np.mean(every**2))


def permutation_p_value(real: float, permuted: Sequence[float]) -> float:
    """``(1 + count(permuted >= real)) / (1 + len(permuted))``: never 0, 1 without permutations."""
    hits = sum(1 for value in permuted if value >= real)
    return (1 + hits) / (1 + len(permuted))


@attrs.frozen
class RobustnessPolicy:
    """The gates' thresholds (``robustness`` in the configuration). Each ``*_problem`` method
    returns None when its gate passes, else the retirement reason with its figures.

    ``permutations``: markets with permuted returns per test; 0 turns the permutation gate off and
    is only allowed with ``max_permutation_p`` 1 (the smallest attainable p-value is
    ``1 / (permutations + 1)``, which must not exceed ``max_permutation_p``).
    """

    min_deflated_sharpe: float = 0.95
    max_permutation_p: float = 0.05
    min_trades_training: int = 30
    min_trades_holdout: int = 5
    permutations: int = 20

    def __attrs_post_init__(self) -> None:
        for name in ("min_deflated_sharpe", "max_permutation_p"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name}: {value}; expected a probability in [0, 1]")
        for name in ("min_trades_training", "min_trades_holdout", "permutations"):
            value = getattr(self, name)
            if value < 0:
                raise ValueError(f"{name}: {value}; expected an integer >= 0")
        if 1.0 / (self.permutations + 1) > self.max_permutation_p:
            needed = math.ceil(1.0 / self.max_permutation_p - 1.0) if self.max_permutation_p else 0
            expected = f">= {needed}" if self.max_permutation_p else "none: max_permutation_p is 0"
            raise ValueError(
                f"permutations: {self.permutations}; the smallest p-value 1/{self.permutations + 1}"
                f" is above max_permutation_p {self.max_permutation_p}, so no strategy could pass;"
                f" expected {expected}"
            )

    @property
    def permutation_enabled(self) -> bool:
        """Whether the permutation test runs (``permutations`` > 0)."""
        return self.permutations > 0

    def trade_counts_problem(self, training: Metrics, holdout: Metrics) -> Reason | None:
        """Too few trades in the training or the holdout window."""
        if training.trades < self.min_trades_training:
            return Reason(
                Code.MIN_TRADES_TRAINING, f"{training.trades} < {self.min_trades_training}"
            )
        if holdout.trades < self.min_trades_holdout:
            return Reason(Code.MIN_TRADES_HOLDOUT, f"{holdout.trades} < {self.min_trades_holdout}")
        return None

    def deflated_sharpe_problem(self, deflated: DeflatedSharpe) -> Reason | None:
        """A deflated Sharpe below ``min_deflated_sharpe``."""
        if deflated.value >= self.min_deflated_sharpe:
            return None
        m = deflated.moments
        return Reason(
            Code.DEFLATED_SHARPE,
            f"{deflated.value:.2f} < {self.min_deflated_sharpe} "
            f"(sharpe/bar {m.sharpe:.4g}, expected max/bar {deflated.benchmark:.4g}, "
            f"trials {deflated.trials}, returns {m.count}, skew {m.skewness:.2f}, "
            f"kurtosis {m.kurtosis:.2f})",
        )

    def permutation_problem(self, p_value: float, permutations: int) -> Reason | None:
        """A permutation p-value above ``max_permutation_p``."""
        if p_value <= self.max_permutation_p:
            return None
        return Reason(
            Code.PERMUTATION,
            f"p {p_value:.2f} > {self.max_permutation_p} ({permutations} permutations)",
        )
