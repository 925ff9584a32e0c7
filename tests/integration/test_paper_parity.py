"""Parity, the central test of paper trading: the executor, driven candle by candle with a
ManualClock on the paper exchange, closes the same trades as the backtest engine (entry and exit
bars, prices, reasons, returns on margin to 1e-9), on random candles, signals and parameters
(percent and ATR stops), on 30 coins side by side, and for every exit reason."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.engine_markets import market
from tests.integration.executor_harness import CAPITAL, SUBACCOUNT, Desk
from tests.integration.test_numba_engine_matches_reference import coin, parameters

from sixbtc.adapters.engine import PythonBacktestEngine
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.candles import from_ms
from sixbtc.domain.position import Direction, ExitReason

TOLERANCE = 1e-9


def assert_same_trades(
    markets: list[Market], parameters: ExecutionParameters, costs: Costs, history_bars=10_000
):
    """The executor's trades on the paper exchange are the engine's, coin by coin; positions the
    engine ends at the end of the window are still open on the exchange."""
    desk = Desk(markets, parameters, costs, history_bars=history_bars)
    desk.run()
    expected = PythonBacktestEngine().run(markets, parameters, costs).trades
    got = desk.trades()
    for m in markets:
        symbol = m.candles.symbol
        mine = [t for t in got if t.symbol == symbol]
        theirs = [t for t in expected if t.symbol == symbol]
        assert [(t.direction, t.entry_time, t.exit_time, t.exit_reason) for t in mine] == [
            (
                t.direction,
                from_ms(t.entry_time),
                None if t.reason is ExitReason.END else from_ms(t.exit_time),
                None if t.reason is ExitReason.END else t.reason,
            )
            for t in theirs
        ], symbol
        for paper, engine in zip(mine, theirs, strict=True):
            assert math.isclose(paper.entry_price, engine.entry_price, rel_tol=TOLERANCE)
            if engine.reason is not ExitReason.END:
                assert math.isclose(paper.exit_price, engine.exit_price, rel_tol=TOLERANCE)
                assert math.isclose(
                    paper.return_on_margin,
                    engine.return_on_margin,
                    rel_tol=TOLERANCE,
                    abs_tol=TOLERANCE,
                )
    open_positions = sorted(
        (p.symbol, p.direction, p.entry_price) for p in desk.exchange.positions(SUBACCOUNT)
    )
    assert open_positions == sorted(
        (t.symbol, t.direction, t.entry_price) for t in expected if t.reason is ExitReason.END
    )
    return desk


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(["BTC", "ETH", "SOL"]), min_size=1, max_size=3, unique=True).flatmap(
        lambda symbols: st.tuples(*(coin(s) for s in symbols))
    ),
    parameters(),
    st.sampled_from([Costs(), Costs(0.0, 0.0), Costs(0.001, 0.002)]),
)
def test_the_executor_trades_on_paper_as_the_backtest_does(markets, parameters, costs):
    assert_same_trades(list(markets), parameters, costs)


@pytest.mark.parametrize(
    "bars, signals, reason",
    [
        ([(100, 100, 100, 100), (100, 103, 99, 101), (101, 101, 101, 101)], [1, 0, 0], "tp"),
        ([(100, 100, 100, 100), (100, 101, 97, 99), (99, 99, 99, 99)], [1, 0, 0], "sl"),
        ([(100, 100, 100, 100), (100, 100, 100, 100), (95, 95, 95, 95)], [1, 0, 0], "sl"),
        ([(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 100, 100)], [1, -1, 0], "signal"),
        ([(100,) * 4, (100,) * 4, (100.5,) * 4, (100.2,) * 4], [-1, 0, 0, 0], "max_hold"),
    ],
)
def test_every_exit_reason_is_the_backtests(bars, signals, reason):
    params = ExecutionParameters(stop_loss=0.02, take_profit=0.02, leverage=2.0, max_hold_bars=2)
    desk = assert_same_trades([market(bars, signals)], params, Costs())
    assert [t.exit_reason for t in desk.trades()] == [reason]


def thirty_coins(bars: int = 300, seed: int = 7) -> list[Market]:
    rng = np.random.default_rng(seed)
    markets = []
    for n in range(30):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
        rows = [
            (o, max(o, c) * 1.004, min(o, c) * 0.996, c)
            for o, c in zip(np.r_[100, close[:-1]], close, strict=True)
        ]
        markets.append(market(rows, rng.choice([-1, 0, 0, 1], bars), symbol=f"C{n}"))
    return markets


def test_thirty_coins_trade_side_by_side_in_one_subaccount():
    params = ExecutionParameters(stop_loss=0.02, take_profit=0.03, leverage=2.0, max_hold_bars=6)
    desk = assert_same_trades(thirty_coins(), params, Costs(), history_bars=20)
    trades = desk.trades()
    assert len(trades) > 300
    assert {t.direction for t in trades} == set(Direction)
    assert {t.exit_reason for t in trades} >= {"sl", "tp", "signal", "max_hold"}
    # sizing: each entry's margin is the equity of its candle split across the 30 coins
    first = min(trades, key=lambda t: t.entry_time)
    assert first.amount * first.entry_price / params.leverage == pytest.approx(
        CAPITAL / 30, rel=0.02
    )
