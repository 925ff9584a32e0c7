"""One strategy backtested on demand (``sixbtc backtest``): any source, any period, the factory's
engine, rules and sandbox, nothing stored and no status touched.

Without fixed execution parameters the study searches as the factory's initial backtest does
(every timeframe given times every combination of the grid, chosen on training, judged on the
holdout); with them (a stored strategy's chosen ones) it re-runs them. The report keeps both
windows' trades and equity curves and the per-coin figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs
import numpy as np

from sixbtc.application.errors import ApplicationError
from sixbtc.application.markets import Evaluation, StrategyMarkets
from sixbtc.domain.backtest import ExecutionParameters, ParameterGrid, Window, best_index
from sixbtc.domain.candles import from_ms
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.scoring import ScoringPolicy
from sixbtc.domain.simulation import SimulatedTrade, SimulationRun, joined_equity
from sixbtc.domain.timeframe import Timeframe


class StudyError(ApplicationError):
    """The study cannot run as asked (a period too short, no candles): the message says why."""


@attrs.frozen
class StudyRequest:
    """What to backtest: the code, its coins, the timeframes to try, the period (its last
    ``holdout_days`` are the holdout) and, optionally, fixed execution parameters."""

    code: str
    coins: tuple[str, ...]
    timeframes: tuple[Timeframe, ...]
    start: datetime
    end: datetime
    holdout_days: int
    parameters: ExecutionParameters | None = None

    def windows(self, timeframe: Timeframe) -> tuple[Window, Window]:
        """Training and holdout of the period, cut on bar boundaries of ``timeframe``."""
        step = timeframe.duration
        start = _floor(self.start, step)
        end = _floor(self.end, step)
        split = _floor(end - timedelta(days=self.holdout_days), step)
        if not start < split:
            raise StudyError(
                f"period {self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M}: no training "
                f"before the holdout of {self.holdout_days} days; expected a period longer than "
                "the holdout (--start earlier, or --holdout-days fewer)"
            )
        return Window(start, split), Window(split, end)


@attrs.frozen
class CoinFigures:
    """One coin's trades in one window: their count, win rate, mean and summed return on
    margin."""

    symbol: str
    window: str
    trades: int
    win_rate: float
    mean_return: float
    total_return: float


@attrs.frozen
class StudyReport:
    """The chosen timeframe and parameters (``searched`` combinations tried), both windows'
    metrics, trades (times in UTC ms) and per-bar equity, the score, the per-coin figures."""

    timeframe: Timeframe
    parameters: ExecutionParameters
    searched: int
    training_window: Window
    holdout_window: Window
    training: Metrics
    holdout: Metrics
    score: float
    coins: list[CoinFigures]
    training_run: SimulationRun
    holdout_run: SimulationRun

    def trades(self) -> list[tuple[str, SimulatedTrade]]:
        """Every trade with its window's name, training first."""
        return [("training", t) for t in self.training_run.trades] + [
            ("holdout", t) for t in self.holdout_run.trades
        ]

    def equity(self) -> list[tuple[datetime, float]]:
        """The equity curve across both windows (the holdout's starts where training ended)."""
        return [(from_ms(t), v) for t, v in joined_equity(self.training_run, self.holdout_run)]


@attrs.frozen
class BacktestStudy:
    """Runs :class:`StudyRequest` s on the factory's markets, grid and scoring."""

    markets: StrategyMarkets
    grid: ParameterGrid
    scoring: ScoringPolicy

    def run(self, request: StudyRequest, stage=lambda line: None) -> StudyReport:
        """Search (or re-run) and report; ``stage(line)`` hears of what is under way."""
        combinations = (
            [request.parameters] if request.parameters else list(self.grid.combinations())
        )
        best: tuple[float, Evaluation, ExecutionParameters, Metrics] | None = None
        for number, timeframe in enumerate(request.timeframes, start=1):
            stage(
                f"[{number}/{len(request.timeframes)}] {timeframe}: candles and signals of "
                f"{len(request.coins)} coins, then {len(combinations)} combinations"
            )
            evaluation = self.markets.evaluation(
                request.code, request.coins, timeframe, request.windows(timeframe)
            )
            metrics = self.markets.simulate(evaluation.training, combinations)
            scores = [self.scoring.training_score(m, timeframe) for m in metrics]
            index = best_index(scores)
            if best is None or scores[index] > best[0]:
                best = (scores[index], evaluation, combinations[index], metrics[index])
        assert best is not None
        _, evaluation, parameters, _ = best
        stage(f"chosen: {evaluation.timeframe}; trades and equity of both windows")
        training = self.markets.run(evaluation.training, parameters)
        holdout = self.markets.run(evaluation.holdout, parameters)
        return StudyReport(
            timeframe=evaluation.timeframe,
            parameters=parameters,
            searched=len(combinations) * len(request.timeframes),
            training_window=evaluation.training_window,
            holdout_window=evaluation.holdout_window,
            training=training.metrics,
            holdout=holdout.metrics,
            score=self.scoring.backtest_score(
                training.metrics, holdout.metrics, evaluation.timeframe
            ),
            coins=_coin_figures("training", training.trades, request.coins)
            + _coin_figures("holdout", holdout.trades, request.coins),
            training_run=training,
            holdout_run=holdout,
        )


def _floor(when: datetime, step: timedelta) -> datetime:
    seconds = int(step.total_seconds())
    return datetime.fromtimestamp(int(when.timestamp()) // seconds * seconds, when.tzinfo)


def _coin_figures(
    window: str, trades: Sequence[SimulatedTrade], coins: Sequence[str]
) -> list[CoinFigures]:
    figures = []
    for symbol in coins:
        returns = np.array([t.return_on_margin for t in trades if t.symbol == symbol])
        figures.append(
            CoinFigures(
                symbol,
                window,
                len(returns),
                float(np.mean(returns > 0)) if len(returns) else 0.0,
                float(np.mean(returns)) if len(returns) else 0.0,
                float(np.sum(returns)),
            )
        )
    return figures
