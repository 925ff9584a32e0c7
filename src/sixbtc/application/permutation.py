"""Markets whose bar returns are permuted (Masters' permutation test, spec section 12).

A permuted market keeps every bar's shape and volume but shuffles the order of the bars' moves:
whatever a strategy found in the order of returns is gone, their distribution is kept.
"""

from __future__ import annotations

import uuid

import numpy as np

from sixbtc.domain.candles import Candles


def permutation_rng(strategy_id: uuid.UUID, permutation: int, coin: int) -> np.random.Generator:
    """The generator of one coin's ``permutation``: the same strategy always gets the same
    permuted markets."""
    return np.random.default_rng([strategy_id.int, permutation, coin])


def permuted_candles(candles: Candles, rng: np.random.Generator) -> Candles:
    """``candles`` with the order of bars 1..n-1 permuted, prices rebuilt from the first close.

    Each bar's open, high, low and close are taken as log-returns relative to the previous bar's
    close; those four-tuples (with the bar's volume) are permuted together and compounded again
    from bar 0, which is kept. Every bar keeps ``low <= open, close <= high``; the times stay.
    """
    n = len(candles)
    if n < 3:
        return candles
    previous = np.log(candles.close[:-1])
    moves = np.stack(
        [np.log(getattr(candles, name)[1:]) - previous for name in ("open", "high", "low", "close")]
    )
    order = rng.permutation(n - 1)
    moves = moves[:, order]
    closes = np.log(candles.close[0]) + np.cumsum(moves[3])
    base = np.r_[np.log(candles.close[0]), closes[:-1]]
    open_, high, low, close = (
        np.r_[getattr(candles, name)[0], np.exp(base + moves[row])]
        for row, name in enumerate(("open", "high", "low", "close"))
    )
    volume = np.r_[candles.volume[0], candles.volume[1:][order]]
    return Candles(candles.symbol, candles.timeframe, candles.time, open_, high, low, close, volume)
