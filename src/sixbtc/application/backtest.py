"""Backtest use cases (spec section 4): the initial backtest of a VALIDATED strategy and the
re-backtest of an ACTIVE one.

Each reads the strategy in a short unit of work, simulates outside any transaction (the long part,
:mod:`.markets`), then records the result and the decision in a second unit of work that it
commits (:meth:`Backtester._decide`, the one path that changes a strategy here). Failures of the
strategy's code retire the strategy (``backtest_error``); every other failure (market data, the
engine, the sandbox, the database) is not the strategy's fault and propagates. Decisions are timed
when they are made (after the pool lock), so that events follow the order of their commits.

Between the initial backtest and the pool stand the research gates (:mod:`.gates`), asked only
about a candidate the pool would admit: a failing candidate is RETIRED with the gate's reason, its
result stored all the same.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime

import attrs

from sixbtc.application.gates import ResearchGates, Search
from sixbtc.application.markets import Evaluation, StrategyCodeFailed, StrategyMarkets
from sixbtc.application.pool import PoolRules, admit, rescore
from sixbtc.application.ports import BacktestEngine, Clock, MarketData, SignalSource, UnitOfWork
from sixbtc.domain.backtest import (
    BacktestResult,
    Costs,
    ExecutionParameters,
    ParameterGrid,
    RunKind,
    Window,
    windows_ending,
)
from sixbtc.domain.errors import IllegalTransition
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.robustness import ReturnMoments, RobustnessPolicy
from sixbtc.domain.scoring import ScoringPolicy
from sixbtc.domain.sensitivity import Neighbourhood, Robustness, TradeBands
from sixbtc.domain.simulation import SimulationRun, downsampled, joined_equity
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe

log = logging.getLogger(__name__)

#: Points of the equity curve stored with each backtest result.
EQUITY_POINTS = 300
#: The figures of a ``legacy_interface`` retirement.
LEGACY_INTERFACE = (
    "written for the original system's interface (no backtest of ours recorded its execution "
    "parameters); generate or add it again in this system's interface"
)


@attrs.frozen
class BacktestSettings:
    """What a backtest runs on (``backtester`` and ``scoring`` in the configuration)."""

    timeframes: tuple[Timeframe, ...]
    grid: ParameterGrid
    costs: Costs
    scoring: ScoringPolicy
    pool: PoolRules
    training_days: int = 365
    holdout_days: int = 30
    coins: int = 30
    #: Signal requests in flight at once (the sandbox's worker count: one per core by default).
    signal_concurrency: int = 1
    #: The research-validity gates (``robustness`` in the configuration); None: no gate.
    robustness: RobustnessPolicy | None = None
    #: Where the windows end (``backtester.window_end``); None: at the backtest's time.
    window_end: datetime | None = None

    def windows(self, now: datetime, timeframe: Timeframe) -> tuple[Window, Window]:
        """Training and holdout windows of a backtest at ``now`` on ``timeframe`` (ending at
        ``window_end`` when set)."""
        end = now if self.window_end is None else self.window_end
        return windows_ending(end, timeframe, self.training_days, self.holdout_days)


class Backtester:
    """The backtest use cases of one worker, built on the ports."""

    def __init__(
        self,
        uow: UnitOfWork,
        market_data: MarketData,
        signal_source: SignalSource,
        engine: BacktestEngine,
        clock: Clock,
        settings: BacktestSettings,
        service: str = "backtester",
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.uow = uow
        self.clock = clock
        self.settings = settings
        self.service = service
        self.markets = StrategyMarkets(
            market_data, signal_source, engine, settings.costs, settings.signal_concurrency
        )
        self.gates = (
            ResearchGates(settings.robustness, settings.scoring, self.markets, stopping)
            if settings.robustness is not None
            else None
        )
        #: Seconds spent by initial backtests so far: ``search`` (every timeframe and
        #: combination, then both windows of the chosen one) and ``gates``.
        self.spent: Counter[str] = Counter()

    def initial(
        self, strategy_id: uuid.UUID, claimed_by: str | None = None
    ) -> BacktestResult | None:
        """Backtest a VALIDATED strategy on every timeframe and combination, choose on training,
        judge on holdout, then store the result and let the gates and the pool decide; the
        claim of ``claimed_by`` ends in the same commit as the decision.

        A strategy with no execution parameters recorded (one of the original system, never
        backtested by us) is retired with reason ``legacy_interface`` without a run.

        Returns the stored result, or None when the strategy was retired for a backtest error or
        its legacy interface.
        """
        now = self.clock.now()
        code = self._read(strategy_id, Status.VALIDATED).code
        started = time.perf_counter()
        try:
            search = self._search(strategy_id, code, now)
            searched = time.perf_counter()
            self.spent["search"] += searched - started
            problem, evidence = None, ""
            if self.gates is not None and self._would_enter(search.result.score):
                verdict = self.gates.verdict(strategy_id, code, search)
                self.spent["gates"] += time.perf_counter() - searched
                problem = verdict.problem
                if problem is None:
                    evidence = f"gates passed: {verdict.figures}"
                    log.info("strategy %s passed the research gates: %s", strategy_id, evidence)
        except StrategyCodeFailed as failure:
            failed = Reason(Code.BACKTEST_ERROR, str(failure))
            self._decide(strategy_id, Status.VALIDATED, None, failed, claimed_by)
            return None
        self._decide(
            strategy_id,
            Status.VALIDATED,
            search.result,
            problem,
            claimed_by,
            coins=search.coins,
            evidence=evidence,
        )
        return search.result

    def retest(
        self, strategy_id: uuid.UUID, claimed_by: str | None = None
    ) -> BacktestResult | None:
        """Re-backtest an ACTIVE strategy on its timeframe with its parameters and the coins of its
        initial backtest (the current coins for a strategy that recorded none), windows rolled to
        now; store the result and let the pool keep or retire it. A coin the market data no longer
        serves raises MarketDataUnavailable: not the strategy's fault.

        Only the trade-count gates apply to a re-backtest, and only to a score the pool would keep
        (at least the entry score): the parameters are not searched again, so there is no new
        selection to deflate or permute. The claim of ``claimed_by`` ends with the decision.

        A strategy with no execution parameters recorded (one of the original system, never
        backtested by us) is retired with reason ``legacy_interface`` without a run.

        Returns the stored result, or None when the strategy was retired for a backtest error or
        its legacy interface.
        """
        now = self.clock.now()
        strategy = self._read(strategy_id, Status.ACTIVE)
        if strategy.execution is None:
            # Only a strategy of the original system is ACTIVE without our initial backtest: its
            # code follows the original's interface, not ours.
            legacy = Reason(Code.LEGACY_INTERFACE, LEGACY_INTERFACE)
            self._decide(strategy_id, Status.ACTIVE, None, legacy, claimed_by)
            return None
        try:
            result = self._rerun(strategy, now)
        except StrategyCodeFailed as failure:
            failed = Reason(Code.BACKTEST_ERROR, str(failure))
            self._decide(strategy_id, Status.ACTIVE, None, failed, claimed_by)
            return None
        problem = None
        if self.gates is not None and result.score >= self.settings.pool.min_score_entry:
            problem = self.gates.trade_counts_problem(result)
        self._decide(strategy_id, Status.ACTIVE, result, problem, claimed_by)
        return result

    def _would_enter(self, score: float) -> bool:
        with self.uow as uow:
            return self.settings.pool.view(uow).would_admit(score)

    def _search(self, strategy_id: uuid.UUID, code: str, now: datetime) -> Search:
        s = self.settings
        symbols = self.markets.symbols(s.coins)
        windows = [(timeframe, s.windows(now, timeframe)) for timeframe in s.timeframes]
        grid = self.markets.search(
            code, symbols, windows, s.grid.combinations(), s.scoring.training_score
        )
        neighbourhood = Neighbourhood.of(
            s.grid.shape, grid.scores[grid.chosen_evaluation], grid.chosen_combination
        )
        runs = self.markets.both_windows(grid.evaluation, grid.parameters)
        result = self._judge(
            strategy_id, RunKind.INITIAL, now, grid.evaluation, grid.parameters, runs, neighbourhood
        )
        trials = sum(len(row) for row in grid.metrics)
        return Search(
            result,
            grid.evaluation,
            trials,
            grid.score,
            tuple(symbols),
            ReturnMoments.of_equity(runs[0].equity),
        )

    def _rerun(self, strategy: Strategy, now: datetime) -> BacktestResult:
        if strategy.timeframe is None:
            raise StrategyCodeFailed("no timeframe recorded; expected the one chosen initially")
        parameters = strategy.execution
        symbols = list(strategy.coins) or self.markets.symbols(self.settings.coins)
        windows = self.settings.windows(now, strategy.timeframe)
        evaluation = self.markets.evaluation(strategy.code, symbols, strategy.timeframe, windows)
        runs = self.markets.both_windows(evaluation, parameters)
        return self._judge(strategy.id, RunKind.RETEST, now, evaluation, parameters, runs)

    def _judge(
        self,
        strategy_id: uuid.UUID,
        kind: RunKind,
        now: datetime,
        evaluation: Evaluation,
        parameters: ExecutionParameters,
        runs: tuple[SimulationRun, SimulationRun],
        neighbourhood: Neighbourhood | None = None,
    ) -> BacktestResult:
        """The result of ``parameters``' training and holdout ``runs`` on ``evaluation``."""
        timeframe = evaluation.timeframe
        training_run, holdout_run = runs
        training, holdout = training_run.metrics, holdout_run.metrics
        trades = [t.return_on_margin for t in training_run.trades + holdout_run.trades]
        years = (evaluation.holdout_window.end - evaluation.training_window.start).days / 365.25
        bands = TradeBands.of(
            trades,
            weight=1.0 / len(evaluation.training),
            per_year=len(trades) / max(years, 1 / 365.25),
            seed=strategy_id.int,
        )
        return BacktestResult(
            strategy_id=strategy_id,
            kind=kind,
            run_at=now,
            timeframe=timeframe,
            parameters=parameters,
            training_window=evaluation.training_window,
            holdout_window=evaluation.holdout_window,
            training=training,
            holdout=holdout,
            score=self.settings.scoring.backtest_score(training, holdout, timeframe),
            equity=downsampled(joined_equity(training_run, holdout_run), EQUITY_POINTS),
            coins=evaluation.coin_figures(training_run, holdout_run),
            robustness=Robustness(neighbourhood, bands),
        )

    def _read(self, strategy_id: uuid.UUID, status: Status) -> Strategy:
        with self.uow as uow:
            return self._current(uow, strategy_id, status)

    @staticmethod
    def _current(uow: UnitOfWork, strategy_id: uuid.UUID, status: Status) -> Strategy:
        strategy = uow.strategies.get(strategy_id)
        if strategy.status is not status:
            raise IllegalTransition(
                f"strategy {strategy_id}: is {strategy.status}; expected {status} to backtest it"
            )
        return strategy

    def _decide(
        self,
        strategy_id: uuid.UUID,
        status: Status,
        result: BacktestResult | None,
        problem: Reason | None,
        claimed_by: str | None,
        coins: tuple[str, ...] | None = None,
        evidence: str = "",
    ) -> None:
        """Record ``result`` (if any) and the decision in one committed unit of work: retire for
        ``problem``, else let the pool admit (VALIDATED) or re-score (ACTIVE) the strategy; the
        claim of ``claimed_by`` ends with it (a crash after the commit leaves no claim behind)."""
        with self.uow as uow:
            strategy = self._current(uow, strategy_id, status)
            uow.lock_pool()  # decisions are timed, and so ordered, under the pool lock
            at = self.clock.now()
            pool, service = self.settings.pool, self.service
            if result is not None:
                uow.backtests.add(result)
            if problem is not None:
                log.info("strategy %s retired: %s", strategy_id, problem)
                if result is not None:
                    strategy.record_backtest(
                        result.score,
                        at=at,
                        timeframe=result.timeframe,
                        execution=result.parameters,
                        coins=coins,
                    )
                strategy.retire(problem, at=at, service=service)
                uow.strategies.save(strategy)
            elif status is Status.VALIDATED:
                assert result is not None
                admit(
                    uow,
                    pool,
                    strategy,
                    result.score,
                    at=at,
                    timeframe=result.timeframe,
                    execution=result.parameters,
                    coins=coins,
                    service=service,
                    evidence=evidence,
                )
            else:
                assert result is not None
                rescore(uow, pool, strategy, result.score, at=at, service=service)
            if claimed_by is not None:
                uow.claims.release(strategy_id, claimed_by)
            uow.commit()
