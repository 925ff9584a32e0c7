"""Hand-computed cases of the simulation rules (spec section 4), run on both engines."""

from __future__ import annotations

import math

import numpy as np
import pytest
from tests.engine_markets import HOUR_MS, flat_bar, market

from sixbtc.adapters.engine import ExitReason, NumbaBacktestEngine, PythonBacktestEngine
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.timeframe import Timeframe

NO_COSTS = Costs(fee=0.0, slippage=0.0)
WIDE = ExecutionParameters(stop_loss=0.02, take_profit=0.02, leverage=1.0, max_hold_bars=100)


@pytest.fixture(params=["numba", "python"])
def engine(request):
    return NumbaBacktestEngine(workers=1) if request.param == "numba" else PythonBacktestEngine()


def summary(run):
    return [
        (
            t.direction,
            t.entry_time // HOUR_MS,
            t.entry_price,
            t.exit_time // HOUR_MS,
            t.exit_price,
            t.reason,
        )
        for t in run.trades
    ]


def test_entry_at_next_open_and_target_inside_the_bar(engine):
    m = market([flat_bar(100), (101, 103.5, 100.5, 103), flat_bar(103)], [1, 0, 0])
    run = engine.run([m], WIDE, NO_COSTS)
    assert summary(run) == [(1, 1, 101, 1, 101 * 1.02, ExitReason.TAKE_PROFIT)]
    assert run.trades[0].return_on_margin == pytest.approx(0.02)


def test_stop_counts_when_stop_and_target_touch_in_one_bar(engine):
    m = market([flat_bar(100), (100, 103, 97, 101), flat_bar(101)], [1, 0, 0])
    run = engine.run([m], WIDE, NO_COSTS)
    assert summary(run) == [(1, 1, 100, 1, 98, ExitReason.STOP_LOSS)]
    assert run.trades[0].return_on_margin == pytest.approx(-0.02)


def test_gap_through_the_stop_fills_at_the_open(engine):
    m = market([flat_bar(100), flat_bar(100), (95, 96, 94, 95.5)], [1, 0, 0])
    run = engine.run([m], WIDE, NO_COSTS)
    assert summary(run) == [(1, 1, 100, 2, 95, ExitReason.STOP_LOSS)]
    assert run.trades[0].return_on_margin == pytest.approx(-0.05)


def test_gap_through_the_target_fills_at_the_open(engine):
    m = market([flat_bar(100), flat_bar(100), (105, 106, 104, 105)], [1, 0, 0])
    assert summary(engine.run([m], WIDE, NO_COSTS)) == [(1, 1, 100, 2, 105, ExitReason.TAKE_PROFIT)]


def test_short_position_takes_profit_below_and_stops_above(engine):
    win = market([flat_bar(100), (100, 101, 97, 99)], [-1, 0])
    loss = market([flat_bar(100), (100, 103, 99, 99)], [-1, 0])
    won, lost = engine.run([win], WIDE, NO_COSTS), engine.run([loss], WIDE, NO_COSTS)
    assert summary(won) == [(-1, 1, 100, 1, 98, ExitReason.TAKE_PROFIT)]
    assert summary(lost) == [(-1, 1, 100, 1, 102, ExitReason.STOP_LOSS)]
    assert won.trades[0].return_on_margin == pytest.approx(0.02)
    assert lost.trades[0].return_on_margin == pytest.approx(-0.02)


def test_leverage_and_costs_follow_the_return_on_margin_formula(engine):
    m = market([flat_bar(100), (100, 103, 99.5, 102)], [1, 0])
    parameters = ExecutionParameters(0.02, 0.02, leverage=3.0, max_hold_bars=10)
    run = engine.run([m], parameters, Costs(fee=0.001, slippage=0.0005))
    # 3 * (+1 * (102/100 - 1) - 0.0015 * (1 + 102/100)) = 3 * (0.02 - 0.00303)
    assert run.trades[0].return_on_margin == pytest.approx(0.05091, abs=1e-12)


def test_short_with_costs_pays_them_on_both_sides(engine):
    m = market([flat_bar(100), flat_bar(100), (100, 100, 95, 96)], [-1, 0, 0])
    parameters = ExecutionParameters(0.1, 0.5, leverage=2.0, max_hold_bars=2)
    run = engine.run([m], parameters, Costs(fee=0.0004, slippage=0.0006))
    assert summary(run) == [(-1, 1, 100, 2, 96, ExitReason.MAX_HOLD)]
    # 2 * (-1 * (0.96 - 1) - 0.001 * 1.96)
    assert run.trades[0].return_on_margin == pytest.approx(0.07608, abs=1e-12)


def test_max_hold_exits_at_the_close_of_the_nth_bar_counting_the_entry_bar(engine):
    bars = [flat_bar(100), (100, 101, 99, 100.5), (100.5, 101, 100, 100.8), flat_bar(100)]
    two = ExecutionParameters(0.05, 0.05, 1.0, max_hold_bars=2)
    one = ExecutionParameters(0.05, 0.05, 1.0, max_hold_bars=1)
    m = market(bars, [1, 0, 0, 0])
    assert summary(engine.run([m], two, NO_COSTS)) == [(1, 1, 100, 2, 100.8, ExitReason.MAX_HOLD)]
    assert summary(engine.run([m], one, NO_COSTS)) == [(1, 1, 100, 1, 100.5, ExitReason.MAX_HOLD)]


def test_opposite_signal_closes_at_next_open_and_never_reverses_in_the_same_step(engine):
    bars = [
        flat_bar(100),
        flat_bar(100),
        flat_bar(101),
        flat_bar(101.5),
        flat_bar(101),
        flat_bar(100.5),
    ]
    m = market(bars, [1, 0, -1, -1, 0, 0])
    assert summary(engine.run([m], WIDE, NO_COSTS)) == [
        (1, 1, 100, 3, 101.5, ExitReason.SIGNAL),
        (-1, 4, 101, 5, 100.5, ExitReason.END),
    ]


def test_same_side_signal_is_ignored_and_a_signal_on_the_exit_bar_reenters(engine):
    bars = [flat_bar(100), (100, 101, 100, 100.5), (100.5, 101, 97, 98), flat_bar(98), flat_bar(98)]
    m = market(bars, [1, 1, 1, 0, 0])
    assert summary(engine.run([m], WIDE, NO_COSTS)) == [
        (1, 1, 100, 2, 98, ExitReason.STOP_LOSS),
        (1, 3, 98, 4, 98, ExitReason.END),
    ]


def test_position_open_at_the_end_closes_at_the_last_close(engine):
    m = market([flat_bar(100), (100, 101, 99.5, 100.7)], [1, 1])
    run = engine.run([m], WIDE, Costs(fee=0.001, slippage=0.0))
    assert summary(run) == [(1, 1, 100, 1, 100.7, ExitReason.END)]
    assert run.trades[0].return_on_margin == pytest.approx(0.007 - 0.001 * 2.007)


def test_signal_on_the_last_bar_opens_nothing(engine):
    m = market([flat_bar(100), flat_bar(101), flat_bar(102)], [0, 0, 1])
    run = engine.run([m], WIDE, NO_COSTS)
    assert run.trades == []
    assert run.metrics == Metrics.empty()


def test_no_signals_no_trades_and_flat_equity(engine):
    m = market([flat_bar(100 + i) for i in range(5)], [0] * 5)
    run = engine.run([m], WIDE, NO_COSTS)
    assert run.trades == []
    assert list(run.equity) == [1.0] * 6
    assert engine.sweep([m], [WIDE, WIDE], NO_COSTS) == [Metrics.empty()] * 2


def test_nan_warm_up_counts_as_flat(engine):
    bars = [flat_bar(100), flat_bar(100), flat_bar(100), (100, 103, 99, 102), flat_bar(102)]
    warm = engine.run([market(bars, [np.nan, np.nan, 1, 0, 0])], WIDE, NO_COSTS)
    zeros = engine.run([market(bars, [0, 0, 1, 0, 0])], WIDE, NO_COSTS)
    assert summary(warm) == summary(zeros) == [(1, 3, 100, 3, 102, ExitReason.TAKE_PROFIT)]


def test_signals_other_than_minus_one_zero_one_are_refused(engine):
    m = market([flat_bar(100), flat_bar(100)], [0.5, 0])
    with pytest.raises(ValueError, match=r"signals of BTC: 0.5 at bar 0"):
        engine.run([m], WIDE, NO_COSTS)


def test_markets_on_different_timeframes_are_refused(engine):
    a = market([flat_bar(100)], [0])
    b = market([flat_bar(100)], [0], symbol="ETH", timeframe=Timeframe.H4)
    with pytest.raises(ValueError, match="one shared timeframe"):
        engine.sweep([a, b], [WIDE], NO_COSTS)


# One coin whose every trade lasts one bar (max hold 1), with returns +10%, -10%, +5% (short), 0.
METRIC_BARS = [
    flat_bar(100),
    (100, 110, 100, 110),
    (110, 110, 99, 99),
    (100, 100, 95, 95),
    flat_bar(100),
    flat_bar(100),
]
METRIC_SIGNALS = [1, 1, -1, 0, 1, 0]
ONE_BAR = ExecutionParameters(stop_loss=0.5, take_profit=0.9, leverage=1.0, max_hold_bars=1)


def test_trade_statistics_match_hand_computed_values(engine):
    run = engine.run([market(METRIC_BARS, METRIC_SIGNALS)], ONE_BAR, NO_COSTS)
    returns = [t.return_on_margin for t in run.trades]
    assert returns == pytest.approx([0.10, -0.10, 0.05, 0.0])
    assert run.metrics.trades == 4
    assert run.metrics.win_rate == pytest.approx(0.5)
    assert run.metrics.expectancy == pytest.approx(0.0125)
    assert run.metrics.profit_factor == pytest.approx(1.5)


def test_equity_compounds_and_drawdown_is_measured_on_it(engine):
    run = engine.run([market(METRIC_BARS, METRIC_SIGNALS)], ONE_BAR, NO_COSTS)
    assert run.equity == pytest.approx([1.0, 1.0, 1.1, 0.99, 1.0395, 1.0395, 1.0395])
    assert run.metrics.total_return == pytest.approx(0.0395)
    assert run.metrics.max_drawdown == pytest.approx(1 - 0.99 / 1.1)


def test_sharpe_is_annualised_with_the_timeframe_bars_per_year(engine):
    bar_returns = [0.0, 0.10, -0.10, 0.05, 0.0, 0.0]
    mean = sum(bar_returns) / 6
    std = math.sqrt(sum((r - mean) ** 2 for r in bar_returns) / 6)
    for timeframe, bars_per_year in ((Timeframe.H1, 8760), (Timeframe.D1, 365)):
        m = market(METRIC_BARS, METRIC_SIGNALS, timeframe=timeframe)
        (metrics,) = engine.sweep([m], [ONE_BAR], NO_COSTS)
        assert metrics.sharpe == pytest.approx(mean / std * math.sqrt(bars_per_year))


def test_portfolio_splits_capital_evenly_between_coins(engine):
    busy = market(METRIC_BARS, METRIC_SIGNALS)
    idle = market([flat_bar(50)] * 6, [0] * 6, symbol="ETH")
    run = engine.run([busy, idle], ONE_BAR, NO_COSTS)
    assert run.equity == pytest.approx([1.0, 1.0, 1.05, 0.995, 1.01975, 1.01975, 1.01975])
    assert run.metrics.max_drawdown == pytest.approx(1 - 0.995 / 1.05)
    assert run.metrics.trades == 4


def test_coins_with_different_histories_share_one_time_grid(engine):
    early = market([flat_bar(100), (100, 110, 100, 110)], [1, 0], symbol="BTC")
    late = market([flat_bar(100), (100, 100, 90, 90)], [1, 0], symbol="ETH", first_bar=2)
    run = engine.run([early, late], ONE_BAR, NO_COSTS)
    assert list(run.times // HOUR_MS) == [0, 1, 2, 3]
    assert run.equity == pytest.approx([1.0, 1.0, 1.05, 1.05, 1.0])
    assert [(t.symbol, t.exit_time // HOUR_MS) for t in run.trades] == [("BTC", 1), ("ETH", 3)]
