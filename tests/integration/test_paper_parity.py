"""Parity: driven bar by bar, acting on each closed bar's signal, the paper exchange closes the
same trades as the backtest engine (entry and exit bars, prices, reasons, returns to 1e-9), on
random candles, signals and parameters (percent and ATR stops)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.engine_markets import market
from tests.integration.test_numba_engine_matches_reference import coin, parameters

from sixbtc.adapters.engine import PythonBacktestEngine
from sixbtc.adapters.paper import PaperExchange
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.orders import OrderRequest, Protection, Side
from sixbtc.domain.position import Bar, Direction, ExitReason, average_true_range, wanted

TOLERANCE = 1e-9
SUBACCOUNT = 1


def paper_trades(exchange: PaperExchange, m: Market, parameters: ExecutionParameters):
    """Drive ``exchange`` over ``m`` as the executor does: after each closed bar, the orders its
    signal asks for, filled at the next open."""
    c = m.candles
    signals = np.nan_to_num(np.asarray(m.signals, dtype=float)).astype(int)
    for i in range(len(c)):
        exchange.on_bar(c.symbol, int(c.time[i]), Bar(c.open[i], c.high[i], c.low[i], c.close[i]))
        held = {p.symbol: p.direction for p in exchange.positions(SUBACCOUNT)}.get(c.symbol)
        target = wanted(int(signals[i]), held)
        if target == held:
            continue
        if held is not None:
            exit = OrderRequest(f"x{i}", SUBACCOUNT, c.symbol, Side.closing(held), 1.0, True)
            exchange.place_order(exit)
        else:
            atr = average_true_range(c.high[: i + 1], c.low[: i + 1], c.close[: i + 1],
                                     parameters.atr_period)[-1]  # fmt: skip
            entry = OrderRequest(f"e{i}", SUBACCOUNT, c.symbol, Side.opening(target), 1.0)
            exchange.place_order(entry, Protection(parameters, atr))
    return exchange.closed_trades(SUBACCOUNT)


def assert_same_trades(m: Market, parameters: ExecutionParameters, costs: Costs) -> None:
    expected = PythonBacktestEngine().run([m], parameters, costs).trades
    ended = [t for t in expected if t.reason is ExitReason.END]
    closed = [t for t in expected if t.reason is not ExitReason.END]
    exchange = PaperExchange(costs)
    got = paper_trades(exchange, m, parameters)
    assert len(got) == len(closed)
    for paper, engine in zip(got, closed, strict=True):
        assert (paper.direction, paper.entry_time, paper.exit_time, paper.reason) == (
            engine.direction, engine.entry_time, engine.exit_time, engine.reason,
        )  # fmt: skip
        for field in ("entry_price", "exit_price", "return_on_margin"):
            assert math.isclose(getattr(paper, field), getattr(engine, field),
                                rel_tol=TOLERANCE, abs_tol=TOLERANCE), field  # fmt: skip
    still_open = exchange.positions(SUBACCOUNT)
    assert [(p.direction, p.entry_price) for p in still_open] == [
        (t.direction, t.entry_price) for t in ended
    ]


@settings(max_examples=300)
@given(coin("BTC"), parameters(), st.sampled_from([Costs(), Costs(0.0, 0.0), Costs(0.001, 0.002)]))
def test_paper_trades_equal_the_backtests(m, parameters, costs):
    assert_same_trades(m, parameters, costs)


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
    m = market(bars, signals)
    assert_same_trades(m, params, Costs())
    trades = paper_trades(PaperExchange(Costs()), m, params)
    assert [t.reason for t in trades] == [reason]


def test_thirty_coins_trade_side_by_side_in_one_subaccount():
    rng = np.random.default_rng(7)
    params = ExecutionParameters(stop_loss=0.02, take_profit=0.03, leverage=2.0, max_hold_bars=6)
    exchange, markets = PaperExchange(Costs()), []
    for n in range(30):
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
        bars = [(o, max(o, c) * 1.004, min(o, c) * 0.996, c)
                for o, c in zip(np.r_[100, close[:-1]], close, strict=True)]  # fmt: skip
        signals = rng.choice([-1, 0, 0, 1], 300)
        markets.append(market(bars, signals, symbol=f"C{n}"))
    expected = {m.candles.symbol: PythonBacktestEngine().run([m], params, Costs()).trades
                for m in markets}  # fmt: skip
    for i in range(300):  # every coin's bar i, then the orders of every coin
        for m in markets:
            c = m.candles
            exchange.on_bar(
                c.symbol, int(c.time[i]), Bar(c.open[i], c.high[i], c.low[i], c.close[i])
            )
        held = {p.symbol: p.direction for p in exchange.positions(SUBACCOUNT)}
        for m in markets:
            symbol, signal = m.candles.symbol, int(m.signals[i])
            target = wanted(signal, held.get(symbol))
            if target == held.get(symbol):
                continue
            if symbol in held:
                exchange.place_order(OrderRequest(f"{symbol}x{i}", SUBACCOUNT, symbol,
                                                  Side.closing(held[symbol]), 1.0, True))  # fmt: skip
            else:
                exchange.place_order(OrderRequest(f"{symbol}e{i}", SUBACCOUNT, symbol,
                                                  Side.opening(target), 1.0), Protection(params))  # fmt: skip
    got: dict[str, list] = {}
    for trade in exchange.closed_trades(SUBACCOUNT):
        got.setdefault(trade.symbol, []).append(trade)
    for symbol, trades in expected.items():
        closed = [t for t in trades if t.reason is not ExitReason.END]
        assert [(t.entry_time, t.exit_time, t.reason) for t in got.get(symbol, [])] == [
            (t.entry_time, t.exit_time, t.reason) for t in closed
        ]
    assert sum(len(t) for t in got.values()) > 300
    assert {t.direction for trades in got.values() for t in trades} == set(Direction)


def test_sync_processes_each_bar_once_and_cash_follows_the_fills():
    bars = [(100, 100, 100, 100), (100, 101, 99.5, 100.5), (100.5, 103, 100, 102), (102,) * 4]
    m = market(bars, [1, 0, 0, 0])
    costs = Costs(fee=0.001, slippage=0.0)
    params = ExecutionParameters(stop_loss=0.02, take_profit=0.02, leverage=2.0, max_hold_bars=5)
    exchange = PaperExchange(costs)
    exchange.fund(SUBACCOUNT, 1000.0)
    assert exchange.sync(m.candles.slice(0, 1)) == 1
    order = OrderRequest("e0", SUBACCOUNT, "BTC", Side.BUY, 4.0)
    exchange.place_order(order, Protection(params))
    exchange.place_order(order, Protection(params))  # a retry: the same client id trades once
    assert exchange.sync(m.candles.slice(0, 2)) == 1  # bar 0 again is not processed twice
    assert exchange.positions(SUBACCOUNT)[0].amount == 4.0
    assert exchange.balance(SUBACCOUNT) == pytest.approx(1000.0 - 0.4 + 4 * 0.5)
    assert exchange.sync(m.candles) == 2  # the target (102) fills in bar 2
    (trade,) = exchange.closed_trades(SUBACCOUNT)
    assert (trade.reason, trade.exit_price) == (ExitReason.TAKE_PROFIT, 102.0)
    fees = 4 * 100 * 0.001 + 4 * 102 * 0.001
    assert exchange.balance(SUBACCOUNT) == pytest.approx(1000.0 + 4 * 2.0 - fees)
    entry_fill, exit_fill = exchange.fills(SUBACCOUNT)
    assert (entry_fill.client_order_id, exit_fill.side) == ("e0", Side.SELL)
    assert trade.return_on_margin == pytest.approx((4 * 2.0 - fees) / (4 * 100 / 2.0))
