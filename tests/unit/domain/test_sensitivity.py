"""The robustness figures of a chosen configuration: grid neighbourhood and trade bands."""

import itertools

import numpy as np
import pytest

from sixbtc.domain.backtest import ParameterGrid
from sixbtc.domain.sensitivity import Neighbourhood, Robustness, TradeBands

SHAPE = ParameterGrid().shape  # (5, 5, 3, 4), stop loss slowest


def grid_scores(score_at) -> list[float]:
    return [score_at(*index) for index in itertools.product(*(range(n) for n in SHAPE))]


def flat(*index: int) -> int:
    return int(np.ravel_multi_index(index, SHAPE))


def test_the_neighbours_are_one_step_away_in_one_dimension():
    scores = grid_scores(lambda *index: float(np.ravel_multi_index(index, SHAPE)))
    corner = Neighbourhood.of(SHAPE, scores, flat(0, 0, 0, 0))
    assert sorted(corner.neighbours) == [flat(0, 0, 0, 1), flat(0, 0, 1, 0), flat(0, 1, 0, 0),
                                         flat(1, 0, 0, 0)]  # fmt: skip
    inside = Neighbourhood.of(SHAPE, scores, flat(2, 2, 1, 2))
    assert len(inside.neighbours) == 8
    assert inside.score == flat(2, 2, 1, 2)


def test_a_broad_optimum_is_a_plateau_and_a_lone_one_a_spike():
    smooth = grid_scores(lambda sl, tp, lev, hold: 60.0 - 2.0 * abs(sl - 2) - 2.0 * abs(tp - 2))
    plateau = Neighbourhood.of(SHAPE, smooth, flat(2, 2, 1, 2))
    assert plateau.shape == "plateau" and plateau.median == pytest.approx(59.0)
    lone = grid_scores(lambda *index: 60.0 if index == (2, 2, 1, 2) else 10.0)
    spike = Neighbourhood.of(SHAPE, lone, flat(2, 2, 1, 2))
    assert spike.shape == "spike" and spike.minimum == 10.0
    assert "spike: the 8 neighbours' median training score 10.00 against the chosen 60.00" in str(
        spike
    )
    ridge = Neighbourhood.of((3,), [30.0, 50.0, 40.0], 1)
    assert ridge.shape == "ridge"


def test_a_grid_of_one_has_no_neighbourhood():
    alone = Neighbourhood.of((1, 1, 1, 1), [42.0], 0)
    assert alone.shape == "-" and alone.median is None
    with pytest.raises(ValueError, match="scores: 3; expected 300"):
        Neighbourhood.of(SHAPE, [1.0, 2.0, 3.0], 0)


def test_equal_trades_give_bands_of_no_width():
    bands = TradeBands.of([0.01] * 50, weight=0.1, per_year=100, draws=200, seed=3)
    assert bands.drawdown.low == bands.drawdown.high == 0.0
    assert bands.sharpe.low == bands.sharpe.high == 0.0  # no spread: no Sharpe to speak of
    assert (bands.trades, bands.draws) == (50, 200)


def test_bands_are_reproducible_and_order_their_percentiles():
    returns = np.random.default_rng(1).normal(0.01, 0.05, 400)
    one = TradeBands.of(returns, weight=1 / 30, per_year=400, seed=7)
    assert one == TradeBands.of(returns, weight=1 / 30, per_year=400, seed=7)
    assert one != TradeBands.of(returns, weight=1 / 30, per_year=400, seed=8)
    for band in (one.drawdown, one.sharpe):
        assert band.low <= band.median <= band.high
    observed = returns.mean() / returns.std() * np.sqrt(400)
    assert one.sharpe.low < observed < one.sharpe.high
    assert 0 < one.drawdown.low < one.drawdown.high < 1


def test_fewer_than_two_trades_have_no_bands():
    assert TradeBands.of([0.02], weight=1.0, per_year=10) is None


def test_a_re_backtest_shows_its_bands_with_the_initial_backtests_neighbourhood():
    near = Neighbourhood(50.0, (45.0, 48.0))
    initial = Robustness(near, TradeBands.of([0.01, -0.02, 0.03], weight=1.0, per_year=3))
    retest = Robustness(None, TradeBands.of([0.02, -0.01], weight=1.0, per_year=2))
    assert Robustness.latest([initial, retest]) == Robustness(near, retest.bands)
    assert Robustness.latest([initial]) == initial
    assert Robustness.latest([None, retest]) == retest
    assert Robustness.latest([initial, None]) is None  # the latest recorded none
    assert Robustness.latest([]) is None
