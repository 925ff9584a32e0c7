"""How fragile a backtest's chosen configuration is (issue 20's robustness report): the training
scores of its neighbours in the parameter grid, and Monte Carlo bands of its trades.

- **Neighbourhood**: the combinations one step away from the chosen one in exactly one dimension of
  the grid (stop loss, take profit, leverage, maximum hold). Its shape is ``plateau`` when their
  median training score is at least ``PLATEAU`` (80%) of the chosen one's, ``spike`` below ``SPIKE``
  (50%), ``ridge`` between: a spike is a configuration that works only exactly there.
- **Trade bands**: the backtest's trades (both windows) resampled with replacement ``draws`` times
  (1,000; fewer for many trades, at least 200, so that a backtest spends at most about 2.5 million
  resampled trades on it),
  each draw compounded as the portfolio does (a trade moves the portfolio by its return on margin
  times the coin's weight, ``1 / coins``); the 5th, 50th and 95th percentiles of each draw's maximum
  drawdown and of its Sharpe ratio (mean over standard deviation of the weighted trade returns,
  annualised by the trades a year).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np

#: Neighbours' median score, as a share of the chosen one's, from which the shape is a plateau.
PLATEAU = 0.8
#: ... below which it is a spike.
SPIKE = 0.5
#: Resampled trades held in memory at once (8 bytes each, a few arrays of them).
_CELLS = 2_000_000
#: Resampled trades a backtest spends on its bands, and the fewest draws however many trades.
_BUDGET, _LEAST_DRAWS = 2_500_000, 200


@attrs.frozen
class Neighbourhood:
    """The chosen combination's training score and its grid neighbours' scores."""

    score: float
    neighbours: tuple[float, ...] = attrs.field(converter=tuple)

    @classmethod
    def of(cls, shape: Sequence[int], scores: Sequence[float], chosen: int) -> Neighbourhood:
        """The neighbourhood of ``chosen`` in a grid of ``shape`` whose combinations' scores are
        ``scores`` in C order (the last dimension varies fastest)."""
        if math.prod(shape) != len(scores):
            raise ValueError(f"scores: {len(scores)}; expected {math.prod(shape)} for {shape}")
        at = np.unravel_index(chosen, shape)
        neighbours = []
        for axis, size in enumerate(shape):
            for step in (-1, 1):
                index = list(at)
                index[axis] += step
                if 0 <= index[axis] < size:
                    neighbours.append(float(scores[int(np.ravel_multi_index(index, shape))]))
        return cls(float(scores[chosen]), neighbours)

    @property
    def median(self) -> float | None:
        return float(np.median(self.neighbours)) if self.neighbours else None

    @property
    def minimum(self) -> float | None:
        return min(self.neighbours) if self.neighbours else None

    @property
    def shape(self) -> str:
        """``plateau``, ``ridge`` or ``spike``; ``-`` without neighbours or a positive score."""
        if self.median is None or self.score <= 0:
            return "-"
        share = self.median / self.score
        return "plateau" if share >= PLATEAU else "spike" if share < SPIKE else "ridge"

    def __str__(self) -> str:
        if self.median is None:
            return "no neighbour (a grid of one combination)"
        return (
            f"{self.shape}: the {len(self.neighbours)} neighbours' median training score "
            f"{self.median:.2f} against the chosen {self.score:.2f}, lowest {self.minimum:.2f}"
        )


@attrs.frozen
class Band:
    """The 5th, 50th and 95th percentiles of a figure over the draws."""

    low: float
    median: float
    high: float

    @classmethod
    def of(cls, values: np.ndarray) -> Band:
        low, median, high = np.percentile(values, [5, 50, 95])
        return cls(float(low), float(median), float(high))


@attrs.frozen
class TradeBands:
    """Monte Carlo bands of a backtest's trades: maximum drawdown and annualised Sharpe."""

    trades: int
    draws: int
    drawdown: Band
    sharpe: Band

    @classmethod
    def of(
        cls,
        returns: Sequence[float],
        weight: float,
        per_year: float,
        draws: int = 1000,
        seed: int = 0,
    ) -> TradeBands | None:
        """Bands of ``returns`` (return on margin of each trade) weighted by ``weight``, with
        ``per_year`` trades a year, over at most ``draws`` resamplings (see the module); None with
        fewer than two trades."""
        weighted = np.asarray(returns, dtype=float) * weight
        if weighted.size < 2:
            return None
        draws = min(draws, max(_LEAST_DRAWS, _BUDGET // weighted.size))
        rng = np.random.default_rng(seed)
        drawdowns, sharpes = np.empty(draws), np.empty(draws)
        chunk = max(1, _CELLS // weighted.size)  # draws at a time: memory stays bounded
        for start in range(0, draws, chunk):
            rows = slice(start, min(draws, start + chunk))
            count = rows.stop - rows.start
            drawn = weighted[rng.integers(0, weighted.size, (count, weighted.size))]
            equity = np.cumprod(1.0 + drawn, axis=1)
            peaks = np.maximum.accumulate(np.maximum(equity, 1.0), axis=1)
            drawdowns[rows] = np.max(1.0 - equity / peaks, axis=1)
            spread = drawn.std(axis=1)
            means = drawn.mean(axis=1)
            sharpes[rows] = np.divide(means, spread, out=np.zeros(count), where=spread > 1e-15)
        sharpes *= math.sqrt(per_year)
        return cls(int(weighted.size), draws, Band.of(drawdowns), Band.of(sharpes))

    def __str__(self) -> str:
        d, s = self.drawdown, self.sharpe
        return (
            f"{self.draws} resamplings of {self.trades} trades: max drawdown {d.low:.1%} .. "
            f"{d.high:.1%} (median {d.median:.1%}), Sharpe {s.low:.2f} .. {s.high:.2f} "
            f"(median {s.median:.2f}), 5th to 95th percentile"
        )


@attrs.frozen
class Robustness:
    """A backtest's robustness figures; the neighbourhood only for an initial backtest (a
    re-backtest searches no grid), the bands only with at least two trades."""

    neighbourhood: Neighbourhood | None = None
    bands: TradeBands | None = None

    @classmethod
    def latest(cls, recorded: Sequence[Robustness | None]) -> Robustness | None:
        """The figures to show for a strategy whose results recorded ``recorded`` (oldest first):
        the latest result's bands with the neighbourhood of the latest result that has one (the
        parameters a re-backtest trades were chosen by its initial backtest's grid); None when
        the latest result was recorded without figures."""
        if not recorded or recorded[-1] is None:
            return None
        near = next((r.neighbourhood for r in reversed(recorded) if r and r.neighbourhood), None)
        return attrs.evolve(recorded[-1], neighbourhood=near)
