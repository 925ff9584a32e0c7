"""Synthetic markets: deterministic 5m candles for 30 named coins, the offline default source.

The same ``seed``, ``end``, ``days`` and ``mode`` always give the same candles, bar for bar. Each coin
has ``days`` (395 by default) of 5m bars; the last bar closes at ``end`` (rounded down to 5 minutes).
A bar opens at the previous bar's close; high and low extend beyond open and close by random amounts
scaled by the bar's volatility. Five modes, three of them markets whose truth is known (the proof of
the research gates, ``sixbtc research``: ``null``, ``planted_edge``, ``momentum``):

``realistic`` (default)
    Log returns = regime drift + beta x market factor + idiosyncratic part. Volatility clusters
    (log-volatility follows slow AR(1) processes, one shared by the market and one per coin) and has
    an intraday seasonality peaking around 14:00 UTC; innovations are Student-t with 5 degrees of
    freedom (fat tails); every coin loads on one common market factor (beta 0.6 to 1.4). Each coin
    switches between regimes lasting 3 days on average: trending up, trending down (a drift of 5%
    of the bar's volatility per bar), mean-reverting (idiosyncratic returns are MA(1) with
    coefficient -0.15) and neutral. Volume rises with volatility and with the size of the bar's move.

``null``
    ``realistic`` without its regimes: clustered volatility, intraday seasonality, fat tails and the
    common market factor, and nothing that the past predicts (no drift, no autocorrelation).

``momentum``
    ``null`` plus a modest, persistent hourly trend: each coin's drift (in units of the bar's
    volatility) is constant through an hour and follows an AR(1) process from hour to hour with a
    half-life of ``MOMENTUM_HALF_LIFE_HOURS`` (6) and a standard deviation of ``MOMENTUM_DRIFT``
    (7%) of the bar's volatility: invisible bar to bar, found by following trends over hours. The
    lag-1 autocorrelation of hourly returns is about 0.05 (0.04 to 0.07 measured on ten coins for
    each of five seeds); a reference strategy (1h bars, long after a 6-hour rise of more than 1%,
    short after such a fall, held 12 hours) earns about 0.5% per trade after costs (0.47% to 0.63%),
    annualised Sharpe 6 to 9 (docs/research.md).

``random_walk``
    Independent, identically distributed Gaussian log returns with zero mean and a constant
    volatility per coin, volume independent of everything: nothing in the past predicts the future.

``planted_edge``
    The random walk plus one planted reversal pattern: after three consecutive down bars (each
    closing below its open) on a coin, each of the next six bars of that coin gets an extra log
    return of ``+0.5 x`` the coin's per-bar volatility; after three consecutive up bars, ``-0.5 x``
    (``EDGE_STREAK``, ``EDGE_BARS``, ``EDGE_DRIFT``). Streaks are counted on the final bars, one bar
    at a time, and overlapping streaks add up, so every occurrence of the pattern in the data is
    followed by its drift; the two sides cancel on average, so buying and holding earns nothing. A
    strategy that goes long at the open after the third down bar (short after the third up bar)
    and exits at the close of the sixth bar earns 3 to 4 x the coin's per-bar volatility per trade
    before costs (6 x 0.5, plus overlapping streaks; about 3.5 measured), well above the round-trip
    costs (the coins' volatility is 0.15% to 0.40% per bar). The
    pattern lives on the 5m timeframe; aggregated timeframes show it diluted or not at all.

With a ``clock``, the market continues after ``end`` up to the clock's time, so that live trading
has candles: one day at a time (each day from its own random stream of ``seed``, coin and day),
from the last close, with the coin's volatility (a random walk; in ``planted_edge`` the pattern
holds as planted through the first day, then every day runs backwards for three hours from
00:00 UTC, holds for the next three, and so on (backwards 00-03, 06-09, 12-15, 18-21), so that
live trading meets hours where a strategy's edge turns against it and the monitor has something
to judge); no bar still forming is served. Without one the market ends at ``end``.
"""

from __future__ import annotations

import enum
import math
import threading
from collections.abc import Sequence
from datetime import datetime

import numba
import numpy as np

from sixbtc.adapters.market.aggregation import bar_ms
from sixbtc.adapters.market.market_data import TimeframeMemo
from sixbtc.application.ports import Clock
from sixbtc.domain.candles import Candles, to_ms
from sixbtc.domain.timeframe import Timeframe

COINS = (
    "BTC",
    "ETH",
    "SOL",
    "BNB",
    "XRP",
    "DOGE",
    "ADA",
    "AVAX",
    "LINK",
    "DOT",
    "TRX",
    "LTC",
    "BCH",
    "NEAR",
    "POL",
    "UNI",
    "ATOM",
    "ETC",
    "XLM",
    "FIL",
    "APT",
    "ARB",
    "OP",
    "INJ",
    "SUI",
    "TIA",
    "SEI",
    "AAVE",
    "HBAR",
    "RUNE",
)
DAYS = 395
EDGE_STREAK = 3
EDGE_BARS = 6
EDGE_DRIFT = 0.5
TAIL_DEGREES = 5
REGIME_DAYS = 3.0
TREND_DRIFT = 0.05
REVERSION = -0.15
_STEP = bar_ms(Timeframe.M5)
_BARS_PER_DAY = 24 * 60 // Timeframe.M5.minutes
#: From the second day after ``end``, the planted pattern's sign through each day: three hours
#: backwards (from 00:00 UTC), three hours as planted, and so on. The first day is as planted.
_REGIMES = np.where((np.arange(_BARS_PER_DAY) // (_BARS_PER_DAY // 8)) % 2 == 1, 1.0, -1.0)
_DAY_MS = 24 * 3_600_000
_MARKET_STREAM = 1_000_003
_CONTINUATION_STREAM = 2_000_003


MOMENTUM_DRIFT = 0.07
MOMENTUM_HALF_LIFE_HOURS = 6.0
_BARS_PER_HOUR = 60 // Timeframe.M5.minutes


class Mode(enum.StrEnum):
    REALISTIC = "realistic"
    NULL = "null"
    MOMENTUM = "momentum"
    RANDOM_WALK = "random_walk"
    PLANTED_EDGE = "planted_edge"


class SyntheticMarketData:
    """The MarketData port over generated markets (see the module docstring for the model).

    Candles are generated per coin on first use and kept in memory.
    """

    def __init__(
        self,
        end: datetime,
        seed: int = 42,
        mode: Mode | str = Mode.REALISTIC,
        days: int = DAYS,
        coins: Sequence[str] = COINS,
        clock: Clock | None = None,
    ) -> None:
        if days < 1:
            raise ValueError(f"synthetic market days: {days}; expected an integer >= 1")
        self.seed = seed
        self.mode = Mode(mode)
        self.end_ms = to_ms(end) // _STEP * _STEP
        self.bars = days * _BARS_PER_DAY
        self._coins = list(coins)
        self.clock = clock
        self._market: tuple[np.ndarray, np.ndarray] | None = None
        #: Days generated after ``end`` per coin, and the series up to their end.
        self._days: dict[str, int] = {}
        self._series: dict[str, Candles] = {}
        self._memo = TimeframeMemo(self._series.get)
        self._lock = threading.Lock()

    def symbols(self) -> list[str]:
        return list(self._coins)

    def candles(self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime) -> Candles:
        with self._lock:
            if self.clock is not None:
                end = min(end, self.clock.now())
                self._grow(symbol, to_ms(end))
            elif symbol in self._coins and symbol not in self._series:
                self._series[symbol] = self._generate(symbol)
            return self._memo.closed_between(symbol, timeframe, start, end)

    def _grow(self, symbol: str, until_ms: int) -> None:
        """Make the coin's 5m series reach ``until_ms`` (whole days after ``end``)."""
        if symbol not in self._coins:
            return
        if symbol not in self._series:
            self._series[symbol] = self._generate(symbol)
            self._days[symbol] = 0
        days = max(0, -(-(until_ms - self.end_ms) // _DAY_MS))
        if days <= self._days[symbol]:
            return
        series = self._series[symbol]
        blocks = [series]
        for day in range(self._days[symbol], days):
            blocks.append(self._continuation(symbol, day, float(blocks[-1].close[-1])))
        self._series[symbol] = Candles.concatenate(blocks)
        self._days[symbol] = days
        self._memo.forget(symbol)

    def _continuation(self, symbol: str, day: int, last_close: float) -> Candles:
        """Day ``day`` (0: the first) after ``end``, opening at ``last_close``."""
        index = self._coins.index(symbol)
        sigma = self._scale(index)[1]
        rng = np.random.default_rng([self.seed, index, _CONTINUATION_STREAM, day])
        returns = rng.normal(0.0, sigma, _BARS_PER_DAY)
        if self.mode is Mode.PLANTED_EDGE:
            returns = _plant_reversals(
                returns,
                EDGE_DRIFT * sigma * (_REGIMES if day else np.ones(_BARS_PER_DAY)),
                EDGE_STREAK,
                EDGE_BARS,
            )
        times = self.end_ms + day * _DAY_MS + _STEP * np.arange(_BARS_PER_DAY, dtype=np.int64)
        return self._bars(
            symbol,
            rng,
            times,
            last_close,
            returns,
            np.full(_BARS_PER_DAY, sigma),
            rng.normal(0.0, 0.5, _BARS_PER_DAY),
        )

    def _scale(self, index: int) -> tuple[float, float]:
        """The coin's first price and per-bar volatility: the first draws of its stream."""
        rng = np.random.default_rng([self.seed, index])
        price = math.exp(rng.uniform(math.log(0.05), math.log(3000.0)))
        return price, rng.uniform(0.0015, 0.004)

    def _times(self) -> np.ndarray:
        return self.end_ms - _STEP * np.arange(self.bars, 0, -1, dtype=np.int64)

    def _generate(self, symbol: str) -> Candles:
        index = self._coins.index(symbol)
        rng = np.random.default_rng([self.seed, index])
        n = self.bars
        price = math.exp(rng.uniform(math.log(0.05), math.log(3000.0)))
        sigma = rng.uniform(0.0015, 0.004)
        if self.mode in (Mode.REALISTIC, Mode.NULL, Mode.MOMENTUM):
            returns, volatility = self._realistic_returns(rng, sigma)
            excitement = np.abs(returns) / volatility
            log_volume = 0.8 * np.log(volatility / sigma) + 0.4 * excitement
            log_volume += _ar1(rng.normal(0.0, 0.1, n), _half_life(36))
        else:
            volatility = np.full(n, sigma)
            returns = rng.normal(0.0, sigma, n)
            if self.mode is Mode.PLANTED_EDGE:
                drift = np.full(n, EDGE_DRIFT * sigma)
                returns = _plant_reversals(returns, drift, EDGE_STREAK, EDGE_BARS)
            log_volume = rng.normal(0.0, 0.5, n)
        return self._bars(symbol, rng, self._times(), price, returns, volatility, log_volume)

    @staticmethod
    def _bars(
        symbol: str,
        rng: np.random.Generator,
        times: np.ndarray,
        price: float,
        returns: np.ndarray,
        volatility: np.ndarray,
        log_volume: np.ndarray,
    ) -> Candles:
        """Bars from ``price`` on: each opens at the previous close; high and low beyond open and
        close by random amounts scaled by the bar's volatility."""
        n = len(returns)
        close = price * np.exp(np.cumsum(returns))
        open_ = np.concatenate([[price], close[:-1]])
        high = np.maximum(open_, close) * np.exp(volatility * rng.exponential(0.4, n))
        low = np.minimum(open_, close) * np.exp(-volatility * rng.exponential(0.4, n))
        volume = rng.uniform(1e5, 1e7) / price * np.exp(log_volume)
        return Candles(symbol, Timeframe.M5, times, open_, high, low, close, volume)

    def _realistic_returns(
        self, rng: np.random.Generator, sigma: float
    ) -> tuple[np.ndarray, np.ndarray]:
        n = self.bars
        market_shocks, market_log_volatility = self._market_factor()
        own_log_volatility = _ar1(rng.normal(0.0, 0.03, n), _half_life(_BARS_PER_DAY))
        hours = (self._times() // 3_600_000) % 24
        seasonal = 1.0 + 0.3 * np.cos(2 * np.pi * (hours - 14) / 24)
        volatility = sigma * seasonal * np.exp(0.6 * market_log_volatility + own_log_volatility)
        beta = rng.uniform(0.6, 1.4)
        market_weight = 0.6
        idiosyncratic = _student(rng, n)
        regimes = _regimes(rng, n)
        if self.mode is Mode.REALISTIC:
            ma = np.where(regimes == 2, REVERSION, 0.0)
            idiosyncratic[1:] += ma[1:] * idiosyncratic[:-1]
            drift = np.select([regimes == 0, regimes == 1], [TREND_DRIFT, -TREND_DRIFT], 0.0)
        elif self.mode is Mode.MOMENTUM:
            drift = _hourly_trend(rng, n)
        else:  # null: the same draws, no regime
            drift = np.zeros(n)
        idiosyncratic_weight = math.sqrt(1 - market_weight**2)
        shocks = market_weight * beta * market_shocks + idiosyncratic_weight * idiosyncratic
        return volatility * (drift + shocks), volatility

    def _market_factor(self) -> tuple[np.ndarray, np.ndarray]:
        """The shared market shocks (unit variance) and market log-volatility, made once."""
        if self._market is None:
            rng = np.random.default_rng([self.seed, _MARKET_STREAM])
            log_volatility = _ar1(rng.normal(0.0, 0.035, self.bars), _half_life(2 * _BARS_PER_DAY))
            self._market = (_student(rng, self.bars), log_volatility)
        return self._market


def _hourly_trend(rng: np.random.Generator, bars: int) -> np.ndarray:
    """A drift per bar (in bar volatilities), constant through each hour and AR(1) from hour to
    hour: half-life ``MOMENTUM_HALF_LIFE_HOURS``, standard deviation ``MOMENTUM_DRIFT``."""
    phi = _half_life(MOMENTUM_HALF_LIFE_HOURS)
    hours = -(-bars // _BARS_PER_HOUR)
    innovations = rng.normal(0.0, MOMENTUM_DRIFT * math.sqrt(1 - phi * phi), hours)
    return np.repeat(_ar1(innovations, phi), _BARS_PER_HOUR)[:bars]


def _half_life(bars: float) -> float:
    return 0.5 ** (1.0 / bars)


def _ar1(noise: np.ndarray, phi: float) -> np.ndarray:
    """``x[t] = phi * x[t-1] + noise[t]`` (x[-1] = 0), computed in blocks with cumulative sums.

    Within a block, ``x[s+k] = phi^k * (phi * x[s-1] + sum_j noise[s+j] * phi^-j)``; blocks are short
    enough that ``phi^-j`` stays below 1e6.
    """
    block = max(1, int(math.log(1e6) / -math.log(phi)))
    powers = phi ** np.arange(block)
    out = np.empty_like(noise)
    state = 0.0
    for start in range(0, len(noise), block):
        chunk = noise[start : start + block]
        k = len(chunk)
        out[start : start + k] = powers[:k] * (phi * state + np.cumsum(chunk / powers[:k]))
        state = out[start + k - 1]
    return out


def _student(rng: np.random.Generator, n: int) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(TAIL_DEGREES, n) / math.sqrt(TAIL_DEGREES / (TAIL_DEGREES - 2))


def _regimes(rng: np.random.Generator, n: int) -> np.ndarray:
    """A regime label per bar: 0 trend up, 1 trend down, 2 mean-reverting, 3 neutral."""
    mean_length = REGIME_DAYS * _BARS_PER_DAY
    count = int(n / mean_length * 3) + 8
    lengths = np.maximum(1, rng.exponential(mean_length, count).astype(np.int64))
    labels = rng.choice(4, size=count, p=[0.2, 0.2, 0.3, 0.3])
    while lengths.sum() < n:
        lengths = np.append(lengths, n)
        labels = np.append(labels, 3)
    return np.repeat(labels, lengths)[:n]


@numba.njit(cache=True)
def _plant_reversals(shocks: np.ndarray, drift: np.ndarray, streak: int, bars: int) -> np.ndarray:
    """Returns = shocks + the bar's ``drift`` for every streak of ``streak`` same-sign returns that
    ended in the previous ``bars`` bars (against the streak's sign; a negative drift goes with
    it, once however many streaks overlap); streaks are read on the returns."""
    n = len(shocks)
    returns = np.empty(n)
    push = np.zeros(n + bars + 1)
    run = 0
    for t in range(n):
        # backwards (a negative drift), overlapping streaks do not add up: a run would feed itself
        pushed = push[t] if drift[t] >= 0 else max(-1.0, min(1.0, push[t]))
        returns[t] = shocks[t] + drift[t] * pushed
        sign = 1 if returns[t] > 0 else -1 if returns[t] < 0 else 0
        run = run + sign if sign != 0 and run * sign > 0 else sign
        if abs(run) >= streak:
            push[t + 1 : t + 1 + bars] -= sign
    return returns
