"""Hand-computed cases of ATR-multiple stops, run on both engines, and their parameters."""

from __future__ import annotations

import pytest
from tests.engine_markets import market

from sixbtc.adapters.engine import ExitReason, NumbaBacktestEngine, PythonBacktestEngine
from sixbtc.domain.backtest import Costs, ExecutionParameters, ParameterGrid, StopUnit

NO_COSTS = Costs(fee=0.0, slippage=0.0)
# True ranges: 4 (first bar: high - low), 4 (103 - 99), 2 (102 - 100, the previous close 101
# inside the bar); ATR with period 2: (4 + 4) / 2 = 4 after bar 1, (4 * 1 + 2) / 2 = 3 after bar 2.
WARM_UP = [(100, 102, 98, 100), (100, 103, 99, 101), (101, 102, 100, 101)]


def atr(stop: float, target: float, leverage: float = 1.0, hold: int = 100, period: int = 2):
    return ExecutionParameters(stop, target, leverage, hold, StopUnit.ATR, period)


@pytest.fixture(params=["numba", "python"])
def engine(request):
    return NumbaBacktestEngine(workers=1) if request.param == "numba" else PythonBacktestEngine()


def only_trade(run):
    assert len(run.trades) == 1, run.trades
    t = run.trades[0]
    return t.direction, t.entry_price, t.exit_price, t.reason


def test_long_levels_are_atr_multiples_from_the_entry_open(engine):
    # Signal on bar 1; entry at bar 2's open 101 with ATR 4 (bars 0 and 1): stop 101 - 1.5 * 4 =
    # 95, target 101 + 2 * 4 = 109, touched inside bar 3.
    bars = [*WARM_UP[:2], (101, 104, 97, 103), (103, 110, 100, 108)]
    run = engine.run([market(bars, [0, 1, 0, 0])], atr(1.5, 2.0), NO_COSTS)
    assert only_trade(run) == (1, 101, 109, ExitReason.TAKE_PROFIT)
    assert run.trades[0].return_on_margin == pytest.approx(109 / 101 - 1)


def test_short_stop_uses_wilder_smoothing_of_the_closed_bars(engine):
    # Entry at bar 3's open 100 with ATR 3 (Wilder, after bar 2): stop 100 + 3 = 103.
    bars = [*WARM_UP, (100, 103.5, 99, 102)]
    run = engine.run([market(bars, [0, 0, -1, 0])], atr(1.0, 5.0), NO_COSTS)
    assert only_trade(run) == (-1, 100, 103, ExitReason.STOP_LOSS)


def test_a_signal_before_the_atr_has_warmed_up_is_not_taken(engine):
    # The signal of bar 0 would enter at bar 1, when only one bar has closed: no ATR, no entry.
    # It still stands on bar 1, so the entry happens at bar 2 (ATR 4, target 101 + 4 = 105).
    bars = [*WARM_UP[:2], (101, 106, 100, 104)]
    run = engine.run([market(bars, [1, 1, 0])], atr(1.0, 1.0), NO_COSTS)
    assert run.trades[0].entry_time == market(bars, [1, 1, 0]).candles.time[2]
    assert only_trade(run) == (1, 101, 105, ExitReason.TAKE_PROFIT)


def test_an_entry_with_its_stop_at_or_beyond_liquidation_is_not_taken(engine):
    # ATR 4, stop 12 ATRs = 48 away from 101: liquidation-safe at 2x (96 < 101), not at 3x (144).
    bars = [*WARM_UP[:2], (101, 102, 100, 101)]
    signals = [0, 1, 0]
    assert engine.run([market(bars, signals)], atr(12.0, 1.0, leverage=3.0), NO_COSTS).trades == []
    taken = engine.run([market(bars, signals)], atr(12.0, 1.0, leverage=2.0), NO_COSTS)
    assert only_trade(taken) == (1, 101, 101, ExitReason.END)


def test_atr_stops_mix_with_percent_ones_in_one_sweep(engine):
    bars = [*WARM_UP[:2], (101, 104, 97, 103), (103, 110, 100, 108)]
    markets = [market(bars, [0, 1, 0, 0])]
    combinations = [
        atr(1.5, 2.0),
        ExecutionParameters(0.05, 0.05, 1.0, 100),
        atr(1.5, 2.0, period=3),
    ]
    swept = engine.sweep(markets, combinations, NO_COSTS)
    assert [m.total_return for m in swept] == [
        pytest.approx(engine.run(markets, p, NO_COSTS).metrics.total_return) for p in combinations
    ]
    # Period 2: target 109 hit in bar 3. Percent: target 106.05 hit in bar 3. Period 3: only two
    # bars closed before the entry bar, so no ATR and no trade.
    assert swept[0].total_return == pytest.approx(109 / 101 - 1)
    assert swept[1].total_return == pytest.approx(0.05)
    assert (swept[2].trades, swept[2].total_return) == (0, 0.0)


def test_atr_parameters_skip_the_percent_liquidation_check_and_round_trip():
    wide = ExecutionParameters(2.0, 3.0, 3.0, 24, StopUnit.ATR, 14)
    assert ExecutionParameters(**wide.as_dict()) == wide
    assert wide.as_dict()["stop_unit"] == "atr"
    with pytest.raises(ValueError, match="stop_loss \\* leverage"):
        ExecutionParameters(2.0, 3.0, 3.0, 24)
    with pytest.raises(ValueError, match="atr_period: 0"):
        ExecutionParameters(2.0, 3.0, 3.0, 24, StopUnit.ATR, 0)
    with pytest.raises(ValueError, match="stop_unit: 'pips'; expected one of percent, atr"):
        ExecutionParameters(2.0, 3.0, 3.0, 24, "pips")


def test_grid_gives_its_stop_unit_and_atr_period_to_every_combination():
    grid = ParameterGrid(stop_loss=(1.0, 2.0), stop_unit="atr", atr_period=7)
    assert {(p.stop_unit, p.atr_period) for p in grid.combinations()} == {(StopUnit.ATR, 7)}
    assert len(grid.combinations()) == len(grid) == 2 * 5 * 3 * 4
