"""Each coin's share of a backtest: its trades' count, win rate and returns in one window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import attrs
import numpy as np

if TYPE_CHECKING:
    from sixbtc.domain.simulation import SimulatedTrade


@attrs.frozen
class CoinFigures:
    """One coin's trades in one window: their count, win rate, mean and summed return on
    margin."""

    symbol: str
    window: str
    trades: int
    win_rate: float
    mean_return: float
    total_return: float


def coin_figures(
    window: str, trades: Sequence[SimulatedTrade], coins: Sequence[str]
) -> list[CoinFigures]:
    """Each of ``coins``' figures from the ``trades`` of one ``window`` (training, holdout)."""
    by_coin: dict[str, list[float]] = {symbol: [] for symbol in coins}
    for trade in trades:
        if trade.symbol in by_coin:
            by_coin[trade.symbol].append(trade.return_on_margin)
    figures = []
    for symbol in coins:
        returns = np.array(by_coin[symbol])
        figures.append(
            CoinFigures(
                symbol,
                window,
                len(returns),
                float(np.mean(returns > 0)) if len(returns) else 0.0,
                float(np.mean(returns)) if len(returns) else 0.0,
                float(np.sum(returns)),
            )
        )
    return figures
