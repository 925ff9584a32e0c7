"""The numba simulation kernel (spec section 4 rules) for many parameter combinations at once.

Bar-major loop: for every bar of the shared grid, every coin with a bar there, every combination of
the chunk. Each bar's prices are read once per chunk; the per-(coin, combination) state is small
and stays in cache. Trades compound each coin's equity; the portfolio equity is the mean of the
coins' equities, and its per-bar returns feed a running Sharpe (Welford) and drawdown, so no
curve is stored unless one is asked for.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

NO_EXIT, STOP_LOSS, TAKE_PROFIT, SIGNAL, MAX_HOLD, END = 0, 1, 2, 3, 4, 5
MISSING, LAST_BAR = 0, 2

#: Columns of the statistics matrix, in the order of Metrics' fields.
TOTAL_RETURN, SHARPE, MAX_DRAWDOWN, WIN_RATE, EXPECTANCY, PROFIT_FACTOR, TRADES = range(7)
STAT_COLUMNS = 7

#: Columns of a recorded trade row.
TRADE_COLUMNS = 8  # coin, direction, entry bar, entry price, exit bar, exit price, reason, return


@njit(cache=True)
def run_chunk(
    open_,
    high,
    low,
    close,
    prev_signal,
    kind,
    stop_loss,
    take_profit,
    leverage,
    max_hold,
    cost,
    bars_per_year,
    combinations,
    stats,
    trades,
    curve,
):
    """Simulate the combinations whose indices are in ``combinations``; write their rows of
    ``stats``. When ``curve`` is not empty (single combination), also record every trade in
    ``trades`` and the portfolio equity in ``curve``; returns the number of trades recorded."""
    bars, coins = open_.shape
    n = combinations.size
    record = curve.size > 0
    direction = np.zeros((coins, n), np.int8)
    entry = np.zeros((coins, n))
    stop = np.zeros((coins, n))
    target = np.zeros((coins, n))
    held = np.zeros((coins, n), np.int64)
    entry_bar = np.zeros((coins, n), np.int64)
    equity = np.ones((coins, n))
    portfolio = np.ones(n)
    bar_gain = np.zeros(n)
    peak = np.ones(n)
    drawdown = np.zeros(n)
    mean = np.zeros(n)
    m2 = np.zeros(n)
    count = np.zeros(n, np.int64)
    wins = np.zeros(n, np.int64)
    total = np.zeros(n)
    gains = np.zeros(n)
    losses = np.zeros(n)
    weight = 1.0 / coins
    recorded = 0
    if record:
        curve[0] = 1.0
    for g in range(bars):
        for c in range(coins):
            bar_kind = kind[g, c]
            if bar_kind == MISSING:
                continue
            o = open_[g, c]
            h = high[g, c]
            lo = low[g, c]
            cl = close[g, c]
            sp = prev_signal[g, c]
            for j in range(n):
                d = direction[c, j]
                if d == 0 and sp == 0:
                    continue
                k = combinations[j]
                reason = NO_EXIT
                price = 0.0
                if d == 0:
                    d = sp
                    direction[c, j] = d
                    entry[c, j] = o
                    stop[c, j] = o * (1.0 - d * stop_loss[k])
                    target[c, j] = o * (1.0 + d * take_profit[k])
                    held[c, j] = 0
                    entry_bar[c, j] = g
                elif sp == -d:
                    reason = SIGNAL
                    price = o
                elif (d > 0 and o <= stop[c, j]) or (d < 0 and o >= stop[c, j]):
                    reason = STOP_LOSS
                    price = o
                elif (d > 0 and o >= target[c, j]) or (d < 0 and o <= target[c, j]):
                    reason = TAKE_PROFIT
                    price = o
                if reason == NO_EXIT:
                    held[c, j] += 1
                    if (d > 0 and lo <= stop[c, j]) or (d < 0 and h >= stop[c, j]):
                        reason = STOP_LOSS
                        price = stop[c, j]
                    elif (d > 0 and h >= target[c, j]) or (d < 0 and lo <= target[c, j]):
                        reason = TAKE_PROFIT
                        price = target[c, j]
                    elif held[c, j] >= max_hold[k]:
                        reason = MAX_HOLD
                        price = cl
                    elif bar_kind == LAST_BAR:
                        reason = END
                        price = cl
                    else:
                        continue
                ratio = price / entry[c, j]
                r = leverage[k] * (d * (ratio - 1.0) - cost * (1.0 + ratio))
                bar_gain[j] += equity[c, j] * r * weight
                equity[c, j] *= 1.0 + r
                direction[c, j] = 0
                count[j] += 1
                total[j] += r
                if r > 0.0:
                    wins[j] += 1
                    gains[j] += r
                elif r < 0.0:
                    losses[j] -= r
                if record:
                    row = trades[recorded]
                    row[0] = c
                    row[1] = d
                    row[2] = entry_bar[c, j]
                    row[3] = entry[c, j]
                    row[4] = g
                    row[5] = price
                    row[6] = reason
                    row[7] = r
                    recorded += 1
        for j in range(n):
            step = bar_gain[j] / portfolio[j]
            portfolio[j] += bar_gain[j]
            bar_gain[j] = 0.0
            delta = step - mean[j]
            mean[j] += delta / (g + 1)
            m2[j] += delta * (step - mean[j])
            if portfolio[j] > peak[j]:
                peak[j] = portfolio[j]
            fall = 1.0 - portfolio[j] / peak[j]
            if fall > drawdown[j]:
                drawdown[j] = fall
            if record:
                curve[g + 1] = portfolio[j]
    for j in range(n):
        row = stats[combinations[j]]
        row[TOTAL_RETURN] = portfolio[j] - 1.0 if bars > 0 else 0.0
        std = math.sqrt(m2[j] / bars) if bars > 0 else 0.0
        row[SHARPE] = mean[j] / std * math.sqrt(bars_per_year) if bars > 1 and std > 1e-15 else 0.0
        row[MAX_DRAWDOWN] = drawdown[j]
        row[TRADES] = count[j]
        row[WIN_RATE] = wins[j] / count[j] if count[j] else 0.0
        row[EXPECTANCY] = total[j] / count[j] if count[j] else 0.0
        if losses[j] > 0.0:
            row[PROFIT_FACTOR] = gains[j] / losses[j]
        else:
            row[PROFIT_FACTOR] = math.inf if gains[j] > 0.0 else 0.0
    return recorded


@njit(cache=True, parallel=True)
def sweep(
    open_,
    high,
    low,
    close,
    prev_signal,
    kind,
    stop_loss,
    take_profit,
    leverage,
    max_hold,
    cost,
    bars_per_year,
    chunks,
):
    """Statistics (one row per combination, STAT_COLUMNS wide) of every combination, the
    combinations dealt round-robin into ``chunks`` parallel chunks (balances slow and fast ones)."""
    total = stop_loss.size
    stats = np.zeros((total, STAT_COLUMNS))
    no_trades = np.zeros((0, TRADE_COLUMNS))
    no_curve = np.zeros(0)
    for chunk in prange(chunks):
        run_chunk(
            open_,
            high,
            low,
            close,
            prev_signal,
            kind,
            stop_loss,
            take_profit,
            leverage,
            max_hold,
            cost,
            bars_per_year,
            np.arange(chunk, total, chunks),
            stats,
            no_trades,
            no_curve,
        )
    return stats
