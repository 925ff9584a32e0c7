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

    Each bar's open, high, low and close are taken as ratios to the previous bar's close; those
    four ratios (with the bar's volume) are permuted together and compounded again from bar 0,
    which is kept. Every bar keeps ``low <= open, close <= high`` (division and multiplication by
    the same positive number keep the order); the times stay.
    """
    n = len(candles)
    if n < 3:
        return candles
    order = rng.permutation(n - 1) + 1
    previous = candles.close[order - 1]
    ratios = [getattr(candles, name)[order] / previous for name in ("open", "high", "low", "close")]
    close = np.empty(n)
    close[0] = candles.close[0]
    np.cumprod(ratios[3], out=close[1:])
    close[1:] *= close[0]
    base = close[:-1]
    open_, high, low = (
        np.concatenate([[getattr(candles, name)[0]], base * ratio])
        for name, ratio in zip(("open", "high", "low"), ratios[:3], strict=True)
    )
    close[1:] = base * ratios[3]
    volume = np.concatenate([[candles.volume[0]], candles.volume[order]])
    return Candles(candles.symbol, candles.timeframe, candles.time, open_, high, low, close, volume)
