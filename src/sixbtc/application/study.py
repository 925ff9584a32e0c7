"""One strategy backtested on demand (``sixbtc backtest``): any source, any period, the factory's
engine, rules and sandbox, nothing stored and no status touched.

Without fixed execution parameters the study searches as the factory's initial backtest does
(every timeframe given times every combination of the grid, chosen on training, judged on the
holdout: the same :meth:`StrategyMarkets.search`); with them (a stored strategy's chosen ones, or
one of its stored results) it re-runs them. The report keeps both windows' trades and equity
curves and the per-coin figures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from sixbtc.application.backtest import BacktestSettings
from sixbtc.application.errors import ApplicationError
from sixbtc.application.markets import StrategyCodeFailed, StrategyMarkets
from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.application.strategy_report import find
from sixbtc.domain.backtest import ExecutionParameters, Window, windows_ending
from sixbtc.domain.candles import from_ms
from sixbtc.domain.coin_figures import CoinFigures
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.simulation import SimulatedTrade, SimulationRun, joined_equity
from sixbtc.domain.timeframe import Timeframe

DAY = timedelta(days=1)


class StudyError(ApplicationError):
    """The study cannot run as asked (a period too short, no such result, the strategy's code
    failed): the message says why."""


@attrs.frozen
class StudyRequest:
    """What to backtest: the code, its coins, the timeframes to try, the period (its last
    ``holdout_days`` are the holdout) and, optionally, fixed execution parameters."""

    code: str
    coins: tuple[str, ...]
    timeframes: tuple[Timeframe, ...]
    start: datetime
    end: datetime
    holdout_days: float
    parameters: ExecutionParameters | None = None

    def __attrs_post_init__(self) -> None:
        if (self.end - self.start) / DAY <= self.holdout_days:
            raise StudyError(
                f"period {self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M}: no training "
                f"before the holdout of {self.holdout_days:g} days; expected a period longer "
                "than the holdout (--start earlier, or --holdout-days fewer)"
            )

    def windows(self, timeframe: Timeframe) -> tuple[Window, Window]:
        """Training and holdout of the period, ending on a bar boundary of ``timeframe``."""
        training_days = (self.end - self.start) / DAY - self.holdout_days
        return windows_ending(self.end, timeframe, training_days, self.holdout_days)


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
    """Plans and runs :class:`StudyRequest` s on the factory's markets and settings."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    markets: StrategyMarkets
    settings: BacktestSettings

    def of_code(
        self,
        code: str,
        *,
        coins: Sequence[str] = (),
        timeframes: Sequence[Timeframe] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        holdout_days: float | None = None,
    ) -> StudyRequest:
        """A search of ``code`` (defaults: the configured coins, timeframes and windows)."""
        return self._request(code, (), coins, timeframes, start, end, holdout_days, None)

    def of_stored(
        self,
        key: str,
        *,
        result: int | None = None,
        search: bool = False,
        coins: Sequence[str] = (),
        timeframes: Sequence[Timeframe] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        holdout_days: float | None = None,
    ) -> StudyRequest:
        """The stored strategy ``key`` (id or name): its backtest number ``result`` exactly (1
        the first), else its chosen timeframe and parameters (a new search with ``search``), on
        its coins unless others are given."""
        with self.unit_of_work() as uow:
            stored = find(uow, key)
            results = uow.backtests.for_strategy(stored.id)
        if result is not None:
            if not 1 <= result <= len(results):
                raise StudyError(
                    f"result {result}: {stored.name} has {len(results)} backtest results; "
                    "`sixbtc strategy show` numbers them"
                )
            chosen = results[result - 1]
            return StudyRequest(
                code=stored.code,
                coins=tuple(coins)
                or stored.coins
                or tuple(self.markets.symbols(self.settings.coins)),
                timeframes=(chosen.timeframe,),
                start=chosen.training_window.start,
                end=chosen.holdout_window.end,
                holdout_days=(chosen.holdout_window.end - chosen.holdout_window.start) / DAY,
                parameters=chosen.parameters,
            )
        parameters, chosen_timeframes = None, ()
        if not search and stored.timeframe and stored.execution:
            parameters, chosen_timeframes = stored.execution, (stored.timeframe,)
        return self._request(
            stored.code,
            stored.coins,
            coins,
            tuple(timeframes) or chosen_timeframes,
            start,
            end,
            holdout_days,
            parameters,
        )

    def _request(
        self, code, stored_coins, coins, timeframes, start, end, holdout_days, parameters
    ) -> StudyRequest:
        s = self.settings
        end = end or s.window_end or self.clock.now()
        holdout_days = holdout_days or s.holdout_days
        return StudyRequest(
            code=code,
            coins=tuple(coins) or tuple(stored_coins) or tuple(self.markets.symbols(s.coins)),
            timeframes=tuple(timeframes) or s.timeframes,
            start=start or end - timedelta(days=s.training_days + holdout_days),
            end=end,
            holdout_days=holdout_days,
            parameters=parameters,
        )

    def run(self, request: StudyRequest, stage=lambda line: None) -> StudyReport:
        """Search (or re-run) and report; ``stage(line)`` hears of what is under way."""
        combinations = (
            [request.parameters] if request.parameters else self.settings.grid.combinations()
        )
        windows = [(tf, request.windows(tf)) for tf in request.timeframes]
        scoring = self.settings.scoring
        try:
            grid = self.markets.search(
                request.code,
                request.coins,
                windows,
                combinations,
                scoring.training_score,
                stage,
            )
            stage(f"chosen: {grid.evaluation.timeframe}; trades and equity of both windows")
            training, holdout = self.markets.both_windows(grid.evaluation, grid.parameters)
        except StrategyCodeFailed as failure:
            raise StudyError(f"the strategy failed: {failure}") from None
        evaluation = grid.evaluation
        return StudyReport(
            timeframe=evaluation.timeframe,
            parameters=grid.parameters,
            searched=len(combinations) * len(windows),
            training_window=evaluation.training_window,
            holdout_window=evaluation.holdout_window,
            training=training.metrics,
            holdout=holdout.metrics,
            score=scoring.backtest_score(training.metrics, holdout.metrics, evaluation.timeframe),
            coins=evaluation.coin_figures(training, holdout),
            training_run=training,
            holdout_run=holdout,
        )
