"""The numba simulation kernel (spec section 4 rules) for many parameter combinations at once.

Bar-major loop: for every bar of the shared grid, every coin with a bar there, every combination of
the chunk. Each bar's prices are read once per chunk; the per-(coin, combination) state lives in
flat arrays, one contiguous run of ``n`` per coin (no per-coin views: they cost reference counting),
and stays in cache. For each (bar, coin) a first, branch-free (SIMD) pass
flags the combinations that may act on this bar: an open position exits only when the bar's range
(its open included) reaches its ``floor`` or ``ceiling`` (stop and target, by side), when an
opposite signal comes, or when the coin's bar count reaches ``expiry`` (its last bar always
counts); a flat one acts only on a signal. The second pass applies the exact rules to the flagged
ones only. A coin's bar with no signal while no combination holds a position there flags none
and is skipped at once (sparse signals leave most bars so). Trades compound each coin's equity;
the portfolio equity is the mean of the coins' equities, and its per-bar returns feed a running
Sharpe (Welford) and drawdown, so no curve is stored unless one is asked for.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

NO_EXIT, STOP_LOSS, TAKE_PROFIT, SIGNAL, MAX_HOLD, END = 0, 1, 2, 3, 4, 5
MISSING, LAST_BAR = 0, 2
PERCENT, ATR = 0, 1  # stop units, in the order of StopUnit
NEVER = np.iinfo(np.int64).max

#: Columns of the statistics matrix, in the order of Metrics' fields.
TOTAL_RETURN, SHARPE, MAX_DRAWDOWN, WIN_RATE, EXPECTANCY, PROFIT_FACTOR, TRADES = range(7)
STAT_COLUMNS = 7

#: Columns of a recorded trade row.
TRADE_COLUMNS = 8  # coin, direction, entry bar, entry price, exit bar, exit price, reason, return


@njit(cache=True)
def entry_atr(high, low, close, kind, period):
    """``(bars, coins)``: each coin's average true range over its closed bars before grid bar ``g``
    (Wilder: the mean of the first ``period`` true ranges, then ``(prev * (period - 1) + tr) /
    period``; a coin's first true range is its high - low), NaN until ``period`` bars have closed."""
    bars, coins = high.shape
    out = np.full((bars, coins), np.nan)
    for c in range(coins):
        seen = 0
        atr = 0.0
        previous_close = 0.0
        for g in range(bars):
            if kind[g, c] == MISSING:
                continue
            if seen >= period:
                out[g, c] = atr
            h = high[g, c]
            lo = low[g, c]
            tr = h - lo if seen == 0 else max(h, previous_close) - min(lo, previous_close)
            if seen < period:
                atr += tr
                if seen == period - 1:
                    atr /= period
            else:
                atr = (atr * (period - 1) + tr) / period
            previous_close = close[g, c]
            seen += 1
    return out


@njit(cache=True, error_model="numpy")
def run_chunk(
    open_,
    high,
    low,
    close,
    prev_signal,
    kind,
    atr,
    stop_loss,
    take_profit,
    leverage,
    max_hold,
    unit,
    atr_row,
    cost,
    bars_per_year,
    combinations,
    stats,
    trades,
    curve,
):
    """Simulate the combinations whose indices are in ``combinations``; write their rows of
    ``stats``. ``atr[atr_row[k]]`` is :func:`entry_atr` for combination ``k`` when its ``unit`` is
    ATR. When ``curve`` is not empty (single combination), also record every trade in ``trades``
    and the portfolio equity in ``curve``; returns the number of trades recorded."""
    bars, coins = open_.shape
    n = combinations.size
    record = curve.size > 0
    sl = stop_loss[combinations]
    tp = take_profit[combinations]
    lev = leverage[combinations]
    hold = max_hold[combinations]
    units = unit[combinations]
    rows = atr_row[combinations]
    direction = np.zeros(coins * n, np.int8)
    entry = np.zeros(coins * n)
    floor = np.full(coins * n, -np.inf)
    ceiling = np.full(coins * n, np.inf)
    expiry = np.full(coins * n, NEVER)
    entry_bar = np.zeros(coins * n, np.int64)
    equity = np.ones(coins * n)
    seen = np.zeros(coins, np.int64)
    flag = np.zeros(n, np.bool_)
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
    # Per coin, how many combinations hold a position: a bar without a signal, before the coin's
    # last, flags nothing while none does, and is skipped.
    holding = np.zeros(coins, np.int64)
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
            lowest = min(o, lo)
            highest = max(o, h)
            rank = seen[c]  # this bar's index among the coin's own bars
            seen[c] = rank + 1
            due = NEVER if bar_kind == LAST_BAR else rank
            if sp == 0 and holding[c] == 0 and due != NEVER:
                continue
            base = c * n
            hits = 0
            if sp == 0:
                for j in range(n):
                    hit = (
                        (lowest <= floor[base + j])
                        | (highest >= ceiling[base + j])
                        | (due >= expiry[base + j])
                    )
                    flag[j] = hit
                    hits += hit
            else:
                for j in range(n):
                    hit = (
                        (direction[base + j] != sp)
                        | (lowest <= floor[base + j])
                        | (highest >= ceiling[base + j])
                        | (due >= expiry[base + j])
                    )
                    flag[j] = hit
                    hits += hit
            if hits == 0:
                continue
            for j in range(n):
                if not flag[j]:
                    continue
                k = base + j  # this (coin, combination) in the state arrays
                d = direction[k]
                reason = NO_EXIT
                price = 0.0
                if d == 0:
                    if sp == 0:
                        continue
                    d = sp
                    if units[j] == ATR:
                        distance = sl[j] * atr[rows[j], g, c]
                        # No ATR yet (warm-up), a flat market or a stop at or beyond liquidation:
                        # the entry is not taken.
                        if not (distance > 0.0 and lev[j] * distance < o):
                            continue
                        stop = o - d * distance
                        target = o + d * (tp[j] * atr[rows[j], g, c])
                    else:
                        stop = o * (1.0 - d * sl[j])
                        target = o * (1.0 + d * tp[j])
                    direction[k] = d
                    entry[k] = o
                    floor[k] = stop if d > 0 else target
                    ceiling[k] = target if d > 0 else stop
                    expiry[k] = rank + hold[j] - 1
                    entry_bar[k] = g
                    holding[c] += 1
                else:
                    stop = floor[k] if d > 0 else ceiling[k]
                    target = ceiling[k] if d > 0 else floor[k]
                    if sp == -d:
                        reason = SIGNAL
                        price = o
                    elif (d > 0 and o <= stop) or (d < 0 and o >= stop):
                        reason = STOP_LOSS
                        price = o
                    elif (d > 0 and o >= target) or (d < 0 and o <= target):
                        reason = TAKE_PROFIT
                        price = o
                if reason == NO_EXIT:
                    if (d > 0 and lo <= stop) or (d < 0 and h >= stop):
                        reason = STOP_LOSS
                        price = stop
                    elif (d > 0 and h >= target) or (d < 0 and lo <= target):
                        reason = TAKE_PROFIT
                        price = target
                    elif rank >= expiry[k]:
                        reason = MAX_HOLD
                        price = cl
                    elif bar_kind == LAST_BAR:
                        reason = END
                        price = cl
                    else:
                        continue
                ratio = price / entry[k]
                r = lev[j] * (d * (ratio - 1.0) - cost * (1.0 + ratio))
                bar_gain[j] += equity[k] * r * weight
                equity[k] *= 1.0 + r
                holding[c] -= 1
                direction[k] = 0
                floor[k] = -np.inf
                ceiling[k] = np.inf
                expiry[k] = NEVER
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
                    row[2] = entry_bar[k]
                    row[3] = entry[k]
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
    atr,
    stop_loss,
    take_profit,
    leverage,
    max_hold,
    unit,
    atr_row,
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
            atr,
            stop_loss,
            take_profit,
            leverage,
            max_hold,
            unit,
            atr_row,
            cost,
            bars_per_year,
            np.arange(chunk, total, chunks),
            stats,
            no_trades,
            no_curve,
        )
    return stats
