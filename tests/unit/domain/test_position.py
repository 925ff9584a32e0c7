"""The trading rules bar by bar: levels at entry, the ATR guard and the precedence of exits."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sixbtc.domain.backtest import Costs, ExecutionParameters, StopUnit
from sixbtc.domain.orders import Position, Side
from sixbtc.domain.position import (
    Bar,
    Direction,
    Exit,
    ExitReason,
    OpenPosition,
    average_true_range_before,
)

PERCENT = ExecutionParameters(stop_loss=0.02, take_profit=0.04, leverage=2.0, max_hold_bars=3)
ATR = ExecutionParameters(2.0, 3.0, 2.0, 3, stop_unit=StopUnit.ATR, atr_period=2)


def long_at(price: float = 100.0) -> OpenPosition:
    return OpenPosition.open(Direction.LONG, price, 0, PERCENT)


def test_percent_levels_are_fractions_of_the_entry_price_on_either_side() -> None:
    assert (long_at().stop, long_at().target) == (98.0, 104.0)
    short = OpenPosition.open(Direction.SHORT, 100.0, 0, PERCENT)
    assert (short.stop, short.target) == (102.0, 96.0)


def test_atr_levels_and_the_guard_that_skips_an_entry() -> None:
    position = OpenPosition.open(Direction.LONG, 100.0, 5, ATR, atr=1.5)
    assert (position.stop, position.target) == (97.0, 104.5)
    assert OpenPosition.open(Direction.LONG, 100.0, 5, ATR, atr=math.nan) is None
    assert OpenPosition.open(Direction.LONG, 100.0, 5, ATR, atr=0.0) is None
    assert OpenPosition.open(Direction.LONG, 100.0, 5, ATR, atr=25.0) is None  # 2 * 50 >= 100


def test_at_the_open_an_opposite_signal_comes_before_a_gap() -> None:
    position = long_at()
    assert position.exit_at_open(-1, 90.0) == Exit(90.0, ExitReason.SIGNAL)
    assert position.exit_at_open(0, 90.0) == Exit(90.0, ExitReason.STOP_LOSS)
    assert position.exit_at_open(1, 110.0) == Exit(110.0, ExitReason.TAKE_PROFIT)
    assert position.exit_at_open(1, 100.0) is None


@pytest.mark.parametrize(
    "bar, index, last, expected",
    [
        (Bar(100, 105, 97, 101), 0, False, Exit(98.0, ExitReason.STOP_LOSS)),  # both: the stop
        (Bar(100, 105, 99, 101), 0, False, Exit(104.0, ExitReason.TAKE_PROFIT)),
        (Bar(100, 101, 99, 100.5), 2, False, Exit(100.5, ExitReason.MAX_HOLD)),  # third bar
        (Bar(100, 101, 99, 100.5), 1, True, Exit(100.5, ExitReason.END)),
        (Bar(100, 101, 99, 100.5), 1, False, None),
    ],
)
def test_inside_a_bar_stop_then_target_then_max_hold_then_end(bar, index, last, expected) -> None:
    assert long_at().exit_within(bar, index, PERCENT.max_hold_bars, last) == expected


def test_return_on_margin_follows_the_spec_formula() -> None:
    costs = Costs(fee=0.001, slippage=0.0005)
    ratio = 105 / 100
    expected = 2.0 * (-1 * (ratio - 1) - 0.0015 * (1 + ratio))
    assert costs.return_on_margin(Direction.SHORT, 100.0, 105.0, 2.0) == pytest.approx(expected)


def test_atr_before_a_bar_uses_only_closed_bars() -> None:
    high = np.array([11.0, 12.0, 13.0, 12.5])
    low = np.array([9.0, 10.0, 11.0, 11.5])
    close = np.array([10.0, 11.0, 12.0, 12.0])
    atr = average_true_range_before(high, low, close, 2)
    assert math.isnan(atr[0]) and math.isnan(atr[1])
    assert atr[2] == pytest.approx((2 + 2) / 2)  # bars 0 and 1
    assert atr[3] == pytest.approx((2.0 * 1 + 2.0) / 2)  # Wilder with bar 2's range 2


def test_sides_open_and_close_each_direction() -> None:
    assert (Side.opening(Direction.LONG), Side.closing(Direction.LONG)) == (Side.BUY, Side.SELL)
    assert (Side.opening(Direction.SHORT), Side.closing(Direction.SHORT)) == (Side.SELL, Side.BUY)
    assert (Side.BUY.sign, Side.SELL.sign) == (1, -1)
    assert Position("BTC", -0.5, 100.0).direction is Direction.SHORT
