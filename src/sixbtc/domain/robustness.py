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
- expected maximum Sharpe of ``N`` independent trials with no skill whose observed Sharpe ratios
  have variance ``V``: ``SR0 = sqrt(V) * ((1 - e) * Zinv(1 - 1/N) + e * Zinv(1 - 1/(N * exp(1))))``,
  ``e`` the Euler-Mascheroni constant;
- ``DSR = PSR(SR0)``: the probability that the true Sharpe is above the best one expected from
  that many trials on noise.

Trial accounting (see ``docs/research.md``): ``N`` counts every configuration tried (every
timeframe and combination of the search) and ``V`` is the sampling variance of a per-bar Sharpe
estimated on the chosen configuration's ``T`` returns when the true Sharpe is 0, ``1 / T``, as in
Bailey, Borwein, Lopez de Prado and Zhu ("Pseudo-Mathematics and Financial Charlatanism", 2014).
The spread of the trials' own Sharpe ratios is not used: it mixes timeframes and measures the grid's
cost structure (combinations that trade more pay more), not selection.

The permutation test is sequential (Besag and Clifford, "Sequential Monte Carlo p-values", 1991):
it stops as soon as enough permuted markets score at least as well as the real one for the gate to
fail whatever the rest would show, so that noise costs a few permutations and a candidate that
passes gets all of them (a p-value floor of ``1 / (permutations + 1)``).
"""

from __future__ import annotations

import math
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
    def of(cls, moments: ReturnMoments, trials: int) -> DeflatedSharpe:
        """The DSR of the chosen configuration's ``moments`` after ``trials`` configurations were
        tried (the chosen one included), each a per-bar Sharpe estimated on ``moments.count``
        returns: variance ``1 / count`` when there is no skill."""
        if trials < 1:
            raise ValueError(f"trials: {trials}; expected at least the chosen one")
        variance = 1.0 / moments.count if moments.count else 0.0
        benchmark = expected_maximum_sharpe(trials, variance)
        return cls(probabilistic_sharpe(moments, benchmark), moments, trials, benchmark)


@attrs.define
class PermutationTest:
    """A sequential permutation test of the ``real`` score: permuted markets' scores are added one
    at a time until ``planned`` were seen or ``failing_hits`` of them scored at least as well (the
    gate then fails whatever the rest would show).

    p-value (Besag and Clifford): ``hits / done`` when stopped by the hits, else
    ``(1 + hits) / (1 + planned)``; never 0, 1 without permutations.
    """

    real: float
    planned: int
    failing_hits: int
    hits: int = 0
    done: int = 0

    def add(self, score: float) -> None:
        """Count one permuted market's ``score`` (ties count as at least as good)."""
        if self.finished:
            raise ValueError(f"permutation test: {self.done} of {self.planned} done; finished")
        self.done += 1
        self.hits += score >= self.real

    @property
    def finished(self) -> bool:
        """Whether more permutations could change the verdict."""
        return self.done >= self.planned or self.hits >= self.failing_hits

    @property
    def stopped_early(self) -> bool:
        return self.done < self.planned and self.hits >= self.failing_hits

    @property
    def p_value(self) -> float:
        if self.stopped_early:
            return self.hits / self.done
        return (1 + self.hits) / (1 + self.done)

    def __str__(self) -> str:
        stop = f", stopped early of {self.planned}" if self.stopped_early else ""
        return (
            f"p {self.p_value:.3f} ({self.hits} of {self.done} permutations scored as well{stop})"
        )


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
    permutations: int = 99

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

    def permutation_test(self, real: float) -> PermutationTest:
        """A permutation test of the ``real`` score: ``permutations`` planned, stopped at the
        first count of as-good permuted scores that makes ``(1 + hits) / (1 + permutations)``
        exceed ``max_permutation_p``."""
        failing = math.floor(self.max_permutation_p * (self.permutations + 1) + 1e-9)
        return PermutationTest(real, self.permutations, max(1, failing))

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
            f"{deflated.value:.3f} < {self.min_deflated_sharpe} "
            f"(sharpe/bar {m.sharpe:.4g}, expected max/bar {deflated.benchmark:.4g}, "
            f"trials {deflated.trials}, returns {m.count}, skew {m.skewness:.2f}, "
            f"kurtosis {m.kurtosis:.2f})",
        )

    def permutation_problem(self, test: PermutationTest) -> Reason | None:
        """A permutation p-value above ``max_permutation_p``."""
        if test.p_value <= self.max_permutation_p:
            return None
        return Reason(Code.PERMUTATION, f"{test} > {self.max_permutation_p}")
