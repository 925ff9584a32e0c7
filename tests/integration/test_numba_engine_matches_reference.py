"""The numba engine matches the pure-Python reference on random markets, signals and parameters
(percent and ATR stops)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.engine_markets import market

from sixbtc.adapters.engine import NumbaBacktestEngine, PythonBacktestEngine
from sixbtc.domain.backtest import Costs, ExecutionParameters, StopUnit

TOLERANCE = 1e-9


@st.composite
def coin(draw, symbol: str):
    """A coin on a tick grid (so that bars often touch a level exactly) with random signals."""
    length = draw(st.integers(1, 40))
    first_bar = draw(st.integers(0, 5))
    bars, price = [], draw(st.integers(80, 120))
    for _ in range(length):
        bar_open = max(1, price + draw(st.integers(-6, 6)))
        close = max(1, bar_open + draw(st.integers(-5, 5)))
        high = max(bar_open, close) + draw(st.integers(0, 4))
        low = max(0.5, min(bar_open, close) - draw(st.integers(0, 4)))
        bars.append((bar_open, high, low, close))
        price = close
    signals = draw(
        st.lists(st.sampled_from([-1.0, 0.0, 0.0, 1.0, math.nan]), min_size=length, max_size=length)
    )
    return market(bars, signals, symbol=symbol, first_bar=first_bar)


@st.composite
def parameters(draw):
    leverage = draw(st.sampled_from([1.0, 2.0, 3.0, 5.0]))
    if draw(st.booleans()):
        return ExecutionParameters(
            stop_loss=draw(st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])),
            take_profit=draw(st.sampled_from([0.5, 1.0, 2.0, 4.0])),
            leverage=leverage,
            max_hold_bars=draw(st.integers(1, 12)),
            stop_unit=StopUnit.ATR,
            atr_period=draw(st.integers(1, 5)),
        )
    stop_loss = draw(
        st.sampled_from([0.01, 0.02, 0.03, 0.05, 0.1]).filter(lambda s: s * leverage < 1)
    )
    return ExecutionParameters(
        stop_loss=stop_loss,
        take_profit=draw(st.sampled_from([0.01, 0.02, 0.04, 0.1, 0.5])),
        leverage=leverage,
        max_hold_bars=draw(st.integers(1, 12)),
    )


costs = st.builds(
    Costs, fee=st.sampled_from([0.0, 0.00045, 0.001]), slippage=st.sampled_from([0.0, 0.0005])
)
portfolios = st.lists(
    st.sampled_from(["BTC", "ETH", "SOL"]), min_size=1, max_size=3, unique=True
).flatmap(lambda symbols: st.tuples(*(coin(s) for s in symbols)))


def close(a: float, b: float) -> bool:
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= TOLERANCE * max(1.0, abs(b))


def assert_metrics_close(fast, slow):
    assert fast.trades == slow.trades
    for name in (
        "total_return",
        "sharpe",
        "max_drawdown",
        "win_rate",
        "expectancy",
        "profit_factor",
    ):
        assert close(getattr(fast, name), getattr(slow, name)), (name, fast, slow)


@settings(max_examples=150)
@given(portfolios, parameters(), costs)
def test_numba_run_matches_reference_trade_by_trade(markets, chosen, cost):
    fast = NumbaBacktestEngine(workers=1).run(list(markets), chosen, cost)
    slow = PythonBacktestEngine().run(list(markets), chosen, cost)
    assert [(t.symbol, t.direction, t.entry_time, t.exit_time, t.reason) for t in fast.trades] == [
        (t.symbol, t.direction, t.entry_time, t.exit_time, t.reason) for t in slow.trades
    ]
    for f, s in zip(fast.trades, slow.trades, strict=True):
        assert close(f.entry_price, s.entry_price)
        assert close(f.exit_price, s.exit_price)
        assert close(f.return_on_margin, s.return_on_margin)
    assert np.array_equal(fast.times, slow.times)
    assert np.allclose(fast.equity, slow.equity, rtol=TOLERANCE, atol=TOLERANCE)
    assert_metrics_close(fast.metrics, slow.metrics)


@settings(max_examples=60)
@given(portfolios, st.lists(parameters(), min_size=1, max_size=7), costs)
def test_parallel_sweep_matches_reference_for_every_combination(markets, combinations, cost):
    fast = NumbaBacktestEngine(workers=2).sweep(list(markets), combinations, cost)
    slow = PythonBacktestEngine().sweep(list(markets), combinations, cost)
    assert len(fast) == len(slow) == len(combinations)
    for f, s in zip(fast, slow, strict=True):
        assert_metrics_close(f, s)
