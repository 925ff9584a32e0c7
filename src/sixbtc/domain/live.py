"""What a LIVE strategy's trading shows: its metrics from its closed trades, measured as the
backtest measures them, and the drawdown of its subaccount."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np

from sixbtc.domain.metrics import Metrics
from sixbtc.domain.timeframe import Timeframe
from sixbtc.domain.trade import Trade


def live_metrics(
    trades: Sequence[Trade], capital: float, since: datetime, now: datetime, timeframe: Timeframe
) -> Metrics:
    """The metrics of the closed ``trades`` of a strategy trading ``capital`` since ``since``:
    trade returns on margin (win rate, expectancy, profit factor), and a per-bar equity curve of
    ``timeframe`` from ``since`` to ``now`` moved by each trade's profit at the bar it closed
    (Sharpe annualised for the timeframe, drawdown, total return), as in the backtest."""
    closed = sorted((t for t in trades if not t.is_open), key=lambda t: t.exit_time)
    if not closed or capital <= 0:
        return Metrics.empty()
    step = timeframe.duration
    bars = max(1, int((now - since) / step))
    index = [min(bars - 1, max(0, int((t.exit_time - since) / step))) for t in closed]
    profit = np.bincount(index, weights=[t.pnl for t in closed], minlength=bars)
    equity = np.concatenate([[1.0], 1.0 + np.cumsum(profit) / capital])
    returns = np.array([t.return_on_margin for t in closed])
    return Metrics.from_returns(returns, equity, timeframe.bars_per_year)


def drawdown(peak_balance: float | None, balance: float | None) -> float:
    """How far the subaccount's equity is below its peak, as a fraction of the peak (0 when it
    has no balance recorded yet)."""
    if not peak_balance or balance is None or peak_balance <= 0:
        return 0.0
    return max(0.0, (peak_balance - balance) / peak_balance)
