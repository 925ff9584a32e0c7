"""Markets whose bar returns are permuted (Masters' permutation test, spec section 12).

A permuted market keeps every bar's shape and volume but shuffles the order of the bars' moves:
whatever a strategy found in the order of returns is gone, their distribution is kept.
"""

from __future__ import annotations

import uuid

import attrs
import numpy as np

from sixbtc.domain.candles import Candles


def permutation_rng(strategy_id: uuid.UUID, permutation: int, coin: int) -> np.random.Generator:
    """The generator of one coin's ``permutation``: the same strategy always gets the same
    permuted markets."""
    return np.random.default_rng([strategy_id.int, permutation, coin])


@attrs.frozen
class PermutableMarket:
    """A market's bars as moves from the previous bar's close, computed once and permuted as often
    as the test asks (:meth:`permuted`).

    Each bar's open, high, low and close are taken as ratios to the previous bar's close; those
    four ratios (with the bar's volume) are permuted together and compounded again from bar 0,
    which is kept. Every bar keeps ``low <= open, close <= high`` (division and multiplication by
    the same positive number keep the order); the times stay.
    """

    candles: Candles
    #: ``(5, n - 1)``: bar ``i + 1``'s open, high, low and close over bar ``i``'s close, and its
    #: volume.
    moves: np.ndarray

    @classmethod
    def of(cls, candles: Candles) -> PermutableMarket:
        previous = candles.close[:-1]
        columns = [
            getattr(candles, name)[1:] / previous for name in ("open", "high", "low", "close")
        ]
        return cls(candles, np.stack([*columns, candles.volume[1:]]))

    def permuted(self, rng: np.random.Generator) -> Candles:
        """The candles with the order of bars 1..n-1 permuted by ``rng``."""
        candles = self.candles
        n = len(candles)
        if n < 3:
            return candles
        moves = np.take(self.moves, rng.permutation(n - 1), axis=1)
        close = np.empty(n)
        close[0] = candles.close[0]
        np.cumprod(moves[3], out=close[1:])
        close[1:] *= close[0]
        base = close[:-1]
        open_, high, low = (
            np.concatenate([[getattr(candles, name)[0]], base * moves[column]])
            for column, name in enumerate(("open", "high", "low"))
        )
        close[1:] = base * moves[3]
        volume = np.concatenate([[candles.volume[0]], moves[4]])
        return Candles(
            candles.symbol, candles.timeframe, candles.time, open_, high, low, close, volume
        )
