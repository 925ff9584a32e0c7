"""Performance metrics of a backtest or of live trading, as pure functions over numpy arrays.

Conventions: trade returns are fractions on margin (0.02 is +2%); an equity curve is the compounded
value of one unit of capital sampled once per bar (it starts at 1.0 before the first bar).
"""

from __future__ import annotations

import math

import attrs
import numpy as np


@attrs.frozen
class Metrics:
    """The figures the scorer and the monitor read. Fractions, not percent."""

    total_return: float
    sharpe: float
    max_drawdown: float
    win_rate: float
    expectancy: float
    profit_factor: float
    trades: int

    @classmethod
    def empty(cls) -> Metrics:
        """The metrics of a run with no trade and a flat equity."""
        return cls(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)

    @classmethod
    def from_returns(
        cls, trade_returns: np.ndarray, equity: np.ndarray, bars_per_year: float
    ) -> Metrics:
        """All metrics from one run's trade returns and its per-bar equity curve."""
        returns = np.asarray(trade_returns, dtype=float)
        return cls(
            total_return=total_return(equity),
            sharpe=sharpe_ratio(equity, bars_per_year),
            max_drawdown=max_drawdown(equity),
            win_rate=win_rate(returns),
            expectancy=expectancy(returns),
            profit_factor=profit_factor(returns),
            trades=int(returns.size),
        )

    def weighted_with(self, other: Metrics, weight: float) -> Metrics:
        """``(1 - weight) * self + weight * other`` field by field (trades are summed)."""
        keep = 1.0 - weight

        def mix(a: float, b: float) -> float:
            return keep * a + weight * b

        return Metrics(
            total_return=mix(self.total_return, other.total_return),
            sharpe=mix(self.sharpe, other.sharpe),
            max_drawdown=mix(self.max_drawdown, other.max_drawdown),
            win_rate=mix(self.win_rate, other.win_rate),
            expectancy=mix(self.expectancy, other.expectancy),
            profit_factor=mix(self.profit_factor, other.profit_factor),
            trades=self.trades + other.trades,
        )


def total_return(equity: np.ndarray) -> float:
    """Final over initial equity, minus one; 0.0 for an empty curve."""
    curve = np.asarray(equity, dtype=float)
    if curve.size == 0:
        return 0.0
    return float(curve[-1] / curve[0] - 1.0) if curve.size > 1 else 0.0


def sharpe_ratio(equity: np.ndarray, bars_per_year: float) -> float:
    """Annualised Sharpe of the per-bar simple returns of ``equity`` (risk-free rate 0).

    ``mean / std * sqrt(bars_per_year)`` with the population standard deviation; 0.0 when the
    curve has fewer than two returns or does not move.
    """
    curve = np.asarray(equity, dtype=float)
    if curve.size < 3:
        return 0.0
    bar_returns = curve[1:] / curve[:-1] - 1.0
    std = float(bar_returns.std())
    if std <= 1e-15:
        return 0.0
    return float(bar_returns.mean()) / std * math.sqrt(bars_per_year)


def max_drawdown(equity: np.ndarray) -> float:
    """Largest fall from a running peak of the compounded equity, as a fraction of that peak: in
    [0, 1] while the equity stays positive, above 1 once a loss exceeds the capital."""
    curve = np.asarray(equity, dtype=float)
    if curve.size == 0:
        return 0.0
    peaks = np.maximum.accumulate(curve)
    return float(np.max(1.0 - curve / peaks))


def win_rate(trade_returns: np.ndarray) -> float:
    """Share of trades with a strictly positive return; 0.0 without trades."""
    returns = np.asarray(trade_returns, dtype=float)
    return float(np.mean(returns > 0.0)) if returns.size else 0.0


def expectancy(trade_returns: np.ndarray) -> float:
    """Mean return per trade; 0.0 without trades."""
    returns = np.asarray(trade_returns, dtype=float)
    return float(returns.mean()) if returns.size else 0.0


def profit_factor(trade_returns: np.ndarray) -> float:
    """Gross gains over gross losses; ``inf`` with gains and no loss, 0.0 without gains."""
    returns = np.asarray(trade_returns, dtype=float)
    gains = float(returns[returns > 0].sum())
    losses = float(-returns[returns < 0].sum())
    if losses == 0.0:
        return math.inf if gains > 0 else 0.0
    return gains / losses
