"""Parity on a live venue: the executor trading through CcxtExchange on the fake Hyperliquid
closes the same trades as the backtest engine, on a scripted price path. Each bar the venue's
price jumps to the bar's open, walks to the low and the high (the adverse extreme first, so that a
stop touched in the same bar as the target fills first, as the backtest assumes), then to the
close; opens equal the previous close, so a market order sent at a candle's close fills at the
next open. Stops and targets rest on the venue and fill there; the executor sends the exits of
opposite signals and of the maximum holding time."""

from __future__ import annotations

import math
from datetime import timedelta

import numpy as np
import pytest
from tests.engine_markets import market
from tests.integration.exchange.conftest import FEE, SUBACCOUNTS, live_exchange
from tests.integration.executor_harness import CAPITAL, SUBACCOUNT, Desk

from sixbtc.adapters.engine import PythonBacktestEngine
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.candles import from_ms
from sixbtc.domain.position import ExitReason

COSTS = Costs(fee=FEE, slippage=0.0)  # the venue's fee is the backtest's cost per side


def scripted(symbol: str, seed: int, bars: int = 60) -> Market:
    """Whole-number closes (stops and targets in percent then sit on the venue's price ticks),
    each bar opening at the previous close, with random signals."""
    rng = np.random.default_rng(seed)
    close = np.maximum(50, 100 + np.cumsum(rng.integers(-3, 4, bars)))
    opens = np.r_[100, close[:-1]]
    rows = [
        (o, max(o, c) + int(rng.integers(0, 3)), min(o, c) - int(rng.integers(0, 3)), c)
        for o, c in zip(opens, close, strict=True)
    ]
    return market(rows, rng.choice([-1, 0, 0, 1], bars), symbol=symbol)


def live_desk(fake, markets: list[Market], parameters: ExecutionParameters) -> Desk:
    desk = Desk(markets, parameters, COSTS, history_bars=20)
    desk.exchange = live_exchange(fake)
    desk.exchange.transfer(SUBACCOUNT, CAPITAL, "fund-1")
    desk.restart()
    return desk


def run(fake, desk: Desk, bars: range | None = None) -> None:
    """Each bar (of ``bars``; None: all) happens on the venue (at its open time), then the
    executor's pass at its close."""
    step = desk.timeframe.minutes * 60_000
    times = desk.times()
    for i in bars if bars is not None else range(len(times)):
        time_ms = times[i]
        fake.clock.fixed_ms = time_ms
        for m in desk.markets:
            coin, c = m.candles.symbol, m.candles
            held = fake.venue.account(SUBACCOUNTS[0]).positions.get(coin)
            extremes = (
                [c.low[i], c.high[i]] if held is None or held.size > 0 else [c.high[i], c.low[i]]
            )
            fake.set_price(coin, float(c.open[i]))
            fake.walk(coin, [*map(float, extremes), float(c.close[i])])
        fake.clock.fixed_ms = time_ms + step
        desk.close_of(time_ms)
        desk.executor.tick()


def assert_same_trades(desk: Desk, parameters: ExecutionParameters) -> None:
    expected = PythonBacktestEngine().run(desk.markets, parameters, COSTS).trades
    step = desk.timeframe.duration
    got = desk.trades()
    for m in desk.markets:
        symbol = m.candles.symbol
        mine = sorted((t for t in got if t.symbol == symbol), key=lambda t: t.entry_time)
        theirs = [t for t in expected if t.symbol == symbol]
        # a maximum-holding exit is sent at the close of its last bar: it fills then, at the
        # price the backtest takes (that close), one bar after the time the backtest records
        assert [(t.direction, t.entry_time, t.exit_time, t.exit_reason) for t in mine] == [
            (
                t.direction,
                from_ms(t.entry_time),
                None
                if t.reason is ExitReason.END
                else from_ms(t.exit_time)
                + (step if t.reason is ExitReason.MAX_HOLD else timedelta(0)),
                None if t.reason is ExitReason.END else t.reason,
            )
            for t in theirs
        ], symbol
        for live, engine in zip(mine, theirs, strict=True):
            assert math.isclose(live.entry_price, engine.entry_price, rel_tol=1e-9)
            if engine.reason is not ExitReason.END:
                assert math.isclose(live.exit_price, engine.exit_price, rel_tol=1e-9)
                assert live.return_on_margin == pytest.approx(engine.return_on_margin, abs=1e-9)


def parity(fake, stop_loss: float, take_profit: float, max_hold: int) -> Desk:
    parameters = ExecutionParameters(stop_loss, take_profit, leverage=2.0, max_hold_bars=max_hold)
    desk = live_desk(fake, [scripted("SOL", 1), scripted("ETH", 2)], parameters)
    run(fake, desk)
    assert_same_trades(desk, parameters)
    return desk


def test_stops_targets_and_signal_exits_trade_on_the_live_venue_as_backtested(fake):
    fake.venue.check_margin = False  # see the next test
    desk = parity(fake, 0.02, 0.03, 6)
    assert {t.exit_reason for t in desk.trades()} >= {"sl", "tp", "signal"}


def test_entries_fit_the_venues_initial_margin(fake):
    parity(fake, 0.02, 0.03, 6)


def test_maximum_holding_exits_trade_on_the_live_venue_as_backtested(fake):
    fake.venue.check_margin = False
    desk = parity(fake, 0.04, 0.05, 2)
    assert "max_hold" in {t.exit_reason for t in desk.trades()}
