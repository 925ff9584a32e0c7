"""Synthetic markets: determinism, shape, the realistic features, no structure in the random walk,
and the planted edge documented in sixbtc.adapters.market.synthetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.market.synthetic import (
    COINS,
    EDGE_BARS,
    EDGE_STREAK,
    SyntheticMarketData,
)
from sixbtc.application.errors import MarketDataUnavailable
from sixbtc.domain.candles import to_ms
from sixbtc.domain.timeframe import Timeframe

END = datetime(2025, 3, 1, tzinfo=UTC)
EVERYTHING = (datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
COST_PER_SIDE = 0.00045 + 0.0005  # the default fee + slippage


def closes(market: SyntheticMarketData, symbol: str):
    return market.candles(symbol, Timeframe.M5, *EVERYTHING)


def log_returns(market: SyntheticMarketData, symbol: str) -> np.ndarray:
    return np.diff(np.log(closes(market, symbol).close))


def autocorrelation(x: np.ndarray, lag: int) -> float:
    x = x - x.mean()
    return float(np.dot(x[:-lag], x[lag:]) / np.dot(x, x))


def test_same_seed_same_data_and_another_seed_other_data():
    one = closes(SyntheticMarketData(END, seed=7, days=30), "ETH")
    two = closes(SyntheticMarketData(END, seed=7, days=30), "ETH")
    other = closes(SyntheticMarketData(END, seed=8, days=30), "ETH")
    for name in ("time", "open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(getattr(one, name), getattr(two, name))
    assert not np.array_equal(one.close, other.close)


@pytest.mark.parametrize("mode", ["realistic", "null", "momentum", "random_walk", "planted_edge"])
def test_thirty_coins_with_395_days_ending_at_end(mode):
    market = SyntheticMarketData(END, mode=mode)
    assert market.symbols() == list(COINS) and len(COINS) == 30
    candles = closes(market, "SOL")
    assert len(candles) == 395 * 288
    end_ms = int(END.timestamp() * 1000)
    assert candles.time[-1] + 300_000 == end_ms
    assert np.all(np.diff(candles.time) == 300_000)
    assert np.all(candles.high >= np.maximum(candles.open, candles.close))
    assert np.all(candles.low <= np.minimum(candles.open, candles.close))
    assert np.all(candles.low > 0) and np.all(candles.volume > 0)
    np.testing.assert_array_equal(candles.open[1:], candles.close[:-1])
    days = market.candles("SOL", Timeframe.D1, END - timedelta(days=10), END)
    assert len(days) == 10


def test_unknown_coin_is_unavailable():
    with pytest.raises(MarketDataUnavailable, match="NOPE"):
        SyntheticMarketData(END, days=2).candles("NOPE", Timeframe.H1, *EVERYTHING)


def test_random_walk_has_no_autocorrelation_beyond_noise():
    market = SyntheticMarketData(END, seed=3, mode="random_walk")
    for symbol in ("BTC", "DOGE", "RUNE"):
        returns = log_returns(market, symbol)
        n = len(returns)
        lags = range(1, 21)
        rho = np.array([autocorrelation(returns, k) for k in lags])
        ljung_box = n * (n + 2) * np.sum(rho**2 / (n - np.array(lags)))
        assert ljung_box < 45.3  # chi-square, 20 degrees of freedom, 99.9% quantile
        rho_abs = np.array([autocorrelation(np.abs(returns), k) for k in lags])
        assert np.all(np.abs(rho_abs) < 4 / np.sqrt(n))  # no volatility clustering either


def test_realistic_market_has_clustering_fat_tails_a_common_factor_and_volume():
    market = SyntheticMarketData(END, seed=3)
    btc, eth = log_returns(market, "BTC"), log_returns(market, "ETH")
    assert autocorrelation(np.abs(btc), 1) > 0.1
    assert np.mean((btc - btc.mean()) ** 4) / np.var(btc) ** 2 > 6
    assert np.corrcoef(btc, eth)[0, 1] > 0.2
    volume = closes(market, "BTC").volume[1:]
    assert np.corrcoef(np.log(volume), np.abs(btc))[0, 1] > 0.2
    assert np.mean([variance_ratio(market, symbol) for symbol in COINS[:10]]) > 1.3


def variance_ratio(market: SyntheticMarketData, symbol: str, horizon: int = 3 * 288) -> float:
    """Variance of 3-day returns over 3 days' worth of 5m variance: about 1 without trends."""
    returns = log_returns(market, symbol)
    blocks = len(returns) // horizon
    sums = returns[: blocks * horizon].reshape(blocks, horizon).sum(axis=1)
    return float(np.var(sums) / (horizon * np.var(returns)))


def test_random_walk_has_no_trends():
    market = SyntheticMarketData(END, seed=3, mode="random_walk")
    assert np.mean([variance_ratio(market, symbol) for symbol in COINS[:10]]) < 1.15


def hourly_returns(market: SyntheticMarketData, symbol: str) -> np.ndarray:
    return np.diff(np.log(market.candles(symbol, Timeframe.H1, *EVERYTHING).close))


def robust_portmanteau(returns: np.ndarray, lags: int) -> float:
    """Sum over lags of the squared autocorrelation over its variance under heteroskedasticity,
    ``sum(x[t]^2 x[t-k]^2) / sum(x[t]^2)^2`` (Lobato, Nankervis and Savin, 2001): chi-square with
    ``lags`` degrees of freedom when returns are uncorrelated, whatever their volatility does."""
    x = returns - returns.mean()
    total = float(np.dot(x, x))
    statistic = 0.0
    for k in range(1, lags + 1):
        rho = float(np.dot(x[:-k], x[k:])) / total
        statistic += rho**2 / (float(np.dot(x[:-k] ** 2, x[k:] ** 2)) / total**2)
    return statistic


def test_the_null_market_keeps_the_realistic_features_and_nothing_predictable():
    """Clustering, fat tails and the common factor as in ``realistic``; no autocorrelation of
    returns (5m or hourly, 20 lags, with standard errors robust to the clustered volatility) and
    no trend (variance ratio about 1)."""
    market = SyntheticMarketData(END, seed=3, mode="null")
    btc, eth = log_returns(market, "BTC"), log_returns(market, "ETH")
    assert autocorrelation(np.abs(btc), 1) > 0.1
    assert np.mean((btc - btc.mean()) ** 4) / np.var(btc) ** 2 > 6
    assert np.corrcoef(btc, eth)[0, 1] > 0.2
    for symbol in COINS[:5]:
        for returns in (log_returns(market, symbol), hourly_returns(market, symbol)):
            assert robust_portmanteau(returns, 20) < 45.3  # chi-square, 20 dof, 99.9% quantile
    assert np.mean([variance_ratio(market, symbol) for symbol in COINS[:10]]) < 1.15


def test_the_momentum_market_has_the_documented_hourly_autocorrelation():
    """About 0.05 at lag 1 on hourly returns (each coin's estimate has a standard error of about
    0.01), decaying over hours; the null market of the same seed has none."""
    momentum = SyntheticMarketData(END, seed=3, mode="momentum")
    null = SyntheticMarketData(END, seed=3, mode="null")
    lag1 = [autocorrelation(hourly_returns(momentum, symbol), 1) for symbol in COINS[:10]]
    assert 0.03 <= np.mean(lag1) <= 0.08
    assert all(rho > 0 for rho in lag1)
    lag24 = [autocorrelation(hourly_returns(momentum, symbol), 24) for symbol in COINS[:10]]
    assert np.mean(lag24) < np.mean(lag1) / 2
    assert abs(np.mean([autocorrelation(hourly_returns(null, s), 1) for s in COINS[:10]])) < 0.02


def trend_rule_returns(candles, lookback: int = 6, hold: int = 12) -> np.ndarray:
    """Net returns of the documented reference rule on hourly candles: after a ``lookback``-hour
    rise above 1%, long at the next open for ``hold`` hours (short after such a fall)."""
    change = candles.close[lookback:] / candles.close[:-lookback] - 1
    side = np.where(change > 0.01, 1, np.where(change < -0.01, -1, 0))
    bars = np.flatnonzero(side)[::1] + lookback
    bars = bars[bars + hold < len(candles)]
    # one position at a time: skip signals while a position is open
    taken, free_at = [], -1
    for bar in bars:
        if bar > free_at:
            taken.append(bar)
            free_at = bar + hold
    taken = np.array(taken)
    direction = side[taken - lookback]
    entry, exit_ = candles.open[taken + 1], candles.close[taken + hold]
    return direction * (exit_ / entry - 1) - COST_PER_SIDE * (1 + exit_ / entry)


def test_following_the_hourly_trend_pays_after_costs_only_on_the_momentum_market():
    momentum = SyntheticMarketData(END, seed=3, mode="momentum")
    null = SyntheticMarketData(END, seed=3, mode="null")
    earned = np.concatenate(
        [trend_rule_returns(momentum.candles(s, Timeframe.H1, *EVERYTHING)) for s in COINS[:10]]
    )
    assert 0.002 < earned.mean() < 0.01 and t_stat(earned) > 5
    lost = np.concatenate(
        [trend_rule_returns(null.candles(s, Timeframe.H1, *EVERYTHING)) for s in COINS[:10]]
    )
    assert lost.mean() < 0


def planted_rule_trades(candles) -> tuple[np.ndarray, np.ndarray]:
    """Net and gross returns of the documented rule: after three down (up) bars, long (short) at
    the next open, out at the close of the sixth bar; costs on entry and exit."""
    direction = np.sign(candles.close - candles.open).astype(int)
    run = np.zeros(len(direction), dtype=int)  # sum of the last EDGE_STREAK directions
    for lag in range(EDGE_STREAK):
        run[EDGE_STREAK - 1 :] += direction[EDGE_STREAK - 1 - lag : len(direction) - lag]
    signal_bars = np.flatnonzero(np.abs(run) == EDGE_STREAK)
    signal_bars = signal_bars[signal_bars + EDGE_BARS < len(direction)]
    side = -direction[signal_bars]
    entry = candles.open[signal_bars + 1]
    exit_ = candles.close[signal_bars + EDGE_BARS]
    gross = side * (exit_ / entry - 1)
    net = side * (exit_ / entry - 1) - COST_PER_SIDE * (1 + exit_ / entry)
    return net, gross


def t_stat(x: np.ndarray) -> float:
    return float(x.mean() / (x.std() / np.sqrt(len(x))))


def test_planted_edge_pays_after_costs_and_the_same_rule_loses_on_the_random_walk():
    planted = SyntheticMarketData(END, seed=11, mode="planted_edge", days=60)
    walk = SyntheticMarketData(END, seed=11, mode="random_walk", days=60)
    for symbol in ("BTC", "XRP"):
        net, gross = planted_rule_trades(closes(planted, symbol))
        assert net.mean() > 0 and t_stat(net) > 10
        volatility = log_returns(walk, symbol).std()  # same seed: the coin's per-bar volatility
        assert 3 <= gross.mean() / volatility <= 4  # the documented size of the edge
        net, gross = planted_rule_trades(closes(walk, symbol))
        assert net.mean() < 0 and abs(t_stat(gross)) < 4


@pytest.mark.parametrize("minutes_before", [0, 2, 5, 7, 30, 60, 150, 243, 1439])
def test_no_candle_still_forming_at_the_requested_end(minutes_before):
    market = SyntheticMarketData(END, days=3)
    end = END - timedelta(minutes=minutes_before)
    end_ms = int(end.timestamp() * 1000)
    for timeframe in Timeframe:
        step = timeframe.minutes * 60_000
        candles = market.candles("BTC", timeframe, END - timedelta(days=2), end)
        assert candles.time[-1] + step <= end_ms  # closed by the end
        assert candles.time[-1] + 2 * step > end_ms  # and the last one that is
        assert np.all(candles.time % step == 0)


@pytest.mark.parametrize("mode", ["realistic", "planted_edge"])
def test_with_a_clock_the_market_continues_past_its_end_deterministically(mode):
    clock = ManualClock(END + timedelta(hours=30, minutes=7))
    first = SyntheticMarketData(END, seed=9, mode=mode, days=3, clock=clock)
    history = first.candles("ETH", Timeframe.M5, END - timedelta(days=1), END)
    later = first.candles("ETH", Timeframe.M5, END - timedelta(minutes=5), END + timedelta(days=9))
    # it opens where the history closed, and stops at the last bar closed at the clock's time
    assert later.open[1] == later.close[0] == history.close[-1]
    assert later.time[-1] == to_ms(END + timedelta(hours=30, minutes=0))
    hours = first.candles("ETH", Timeframe.H1, END, END + timedelta(days=9))
    assert len(hours) == 30 and hours.time[-1] == to_ms(END + timedelta(hours=29))
    # another process with the same seed and end sees the same bars, the history unchanged
    other = SyntheticMarketData(END, seed=9, mode=mode, days=3, clock=ManualClock(clock.now()))
    again = other.candles("ETH", Timeframe.M5, END - timedelta(minutes=5), END + timedelta(days=9))
    np.testing.assert_array_equal(again.close, later.close)
    np.testing.assert_array_equal(
        first.candles("ETH", Timeframe.M5, END - timedelta(days=1), END).close, history.close
    )
    # time passes: the market grows without changing what was served
    clock.advance(timedelta(days=1))
    grown = first.candles("ETH", Timeframe.M5, END - timedelta(minutes=5), END + timedelta(days=9))
    np.testing.assert_array_equal(grown.close[: len(later)], later.close)
    assert len(grown) == len(later) + 288
    assert np.all(grown.high >= np.maximum(grown.open, grown.close))


def test_without_a_clock_the_market_ends_at_its_end():
    market = SyntheticMarketData(END, seed=9, days=3)
    assert market.candles("BTC", Timeframe.M5, END, END + timedelta(days=2)).time.size == 0


def test_the_planted_edge_continues_as_planted_then_alternates_three_hour_regimes():
    """After three down bars the next bar drifts up where the pattern holds and down where it runs
    backwards: the first day after the end as planted, then every day 00-03 UTC backwards, 03-06
    as planted, and so on (about +0.2 and -0.4 bar volatilities measured; backwards,
    overlapping streaks do not add up, so a run does not feed itself)."""
    clock = ManualClock(END + timedelta(days=2))
    market = SyntheticMarketData(END, seed=3, mode="planted_edge", days=2, clock=clock)

    def drift_after_down_streaks(start: datetime) -> float:
        """Mean next-bar return after three down bars in [start, start + 3 h), in units of each
        coin's bar volatility, over every coin."""
        moves = []
        for symbol in COINS:
            bars = market.candles(symbol, Timeframe.M5, start, start + timedelta(hours=3))
            returns = np.log(bars.close / bars.open)
            sigma = returns.std()
            down = returns < 0
            for t in range(EDGE_STREAK, len(returns)):
                if down[t - EDGE_STREAK : t].all():
                    moves.append(returns[t] / sigma)
        return float(np.mean(moves))

    first_day = [drift_after_down_streaks(END + timedelta(hours=h)) for h in range(0, 24, 3)]
    second_day = [
        drift_after_down_streaks(END + timedelta(days=1, hours=h)) for h in range(0, 24, 3)
    ]
    assert all(d > 0.05 for d in first_day), first_day
    assert all(d < -0.2 for d in second_day[0::2]), second_day  # 00-03, 06-09, ...
    assert all(d > 0.05 for d in second_day[1::2]), second_day
