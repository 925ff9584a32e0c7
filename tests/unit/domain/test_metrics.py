import math

import numpy as np
import pytest

from sixbtc.domain import metrics
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.timeframe import Timeframe


def test_drawdown_on_compounded_equity():
    equity = np.array([1.0, 1.2, 0.9, 1.5, 1.2, 1.6])
    assert metrics.max_drawdown(equity) == pytest.approx(0.25)  # 1.2 -> 0.9


def test_total_return():
    assert metrics.total_return(np.array([1.0, 1.1, 1.21])) == pytest.approx(0.21)
    assert metrics.total_return(np.array([])) == 0.0


def test_sharpe_is_annualised_per_timeframe():
    equity = np.cumprod(np.r_[1.0, [1.01, 0.99, 1.02, 1.0]])
    returns = np.array([0.01, -0.01, 0.02, 0.0])
    per_bar = returns.mean() / returns.std()
    for timeframe in Timeframe:
        expected = per_bar * math.sqrt(timeframe.bars_per_year)
        assert metrics.sharpe_ratio(equity, timeframe.bars_per_year) == pytest.approx(expected)
    assert Timeframe.H1.bars_per_year == 8760
    assert Timeframe.M5.bars_per_year == 105120
    assert Timeframe.D1.bars_per_year == 365


def test_flat_equity_has_zero_sharpe():
    assert metrics.sharpe_ratio(np.ones(10), 365) == 0.0


def test_trade_statistics():
    trades = np.array([0.10, -0.05, 0.02, -0.01, 0.0])
    assert metrics.win_rate(trades) == pytest.approx(0.4)
    assert metrics.expectancy(trades) == pytest.approx(0.012)
    assert metrics.profit_factor(trades) == pytest.approx(0.12 / 0.06)
    assert metrics.profit_factor(np.array([0.1])) == math.inf
    assert metrics.profit_factor(np.array([])) == 0.0


def test_from_returns_collects_everything():
    trades = np.array([0.1, -0.05])
    equity = np.array([1.0, 1.1, 1.045])
    result = Metrics.from_returns(trades, equity, Timeframe.D1.bars_per_year)
    assert result.trades == 2
    assert result.total_return == pytest.approx(0.045)
    assert result.max_drawdown == pytest.approx(0.05)
    assert result.win_rate == 0.5


def test_weighted_metrics_mix_fields_and_sum_trades():
    a = Metrics(0.1, 1.0, 0.1, 0.5, 0.01, 1.5, 30)
    b = Metrics(0.2, 2.0, 0.2, 0.7, 0.03, 2.5, 5)
    mixed = a.weighted_with(b, 0.6)
    assert mixed.sharpe == pytest.approx(1.6)
    assert mixed.expectancy == pytest.approx(0.022)
    assert mixed.trades == 35


def test_drawdown_of_a_curve_that_loses_more_than_its_capital():
    assert metrics.max_drawdown(np.array([1.0, 2.0, 0.0])) == pytest.approx(1.0)
    assert metrics.max_drawdown(np.array([1.0, 2.0, -1.0])) == pytest.approx(1.5)
    assert metrics.max_drawdown(np.array([1.0, 1.5, 2.0])) == 0.0
