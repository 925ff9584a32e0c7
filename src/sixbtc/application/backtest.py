"""Backtest use cases (spec section 4): the initial backtest of a VALIDATED strategy and the
re-backtest of an ACTIVE one.

Each reads the strategy in a short unit of work, simulates outside any transaction (the long part),
then records the result and lets the pool decide in a second unit of work that it commits. Failures
of the strategy's code retire the strategy (``backtest_error: ...``); every other failure (missing
market data, the engine, the sandbox, the database) is not the strategy's fault and propagates.
Status changes are timed when they are decided (after the pool lock), so that events follow the
order of their commits.

Between the backtest and the pool stand the research-validity gates (spec section 12, when the
settings carry a :class:`~sixbtc.domain.robustness.RobustnessPolicy`): a candidate whose score
would let it enter the pool must also have enough trades in each window, a deflated Sharpe above
the bar set by the number of configurations tried, and beat markets with permuted returns. A
failing candidate is RETIRED with the gate's reason; its result is stored all the same.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import attrs
import numpy as np

from sixbtc.application.errors import MarketDataUnavailable, StrategyFailed
from sixbtc.application.permutation import permutation_rng, permuted_candles
from sixbtc.application.pool import PoolRules, admit, rescore
from sixbtc.application.ports import (
    BacktestEngine,
    Clock,
    Market,
    MarketData,
    SignalSource,
    UnitOfWork,
)
from sixbtc.domain.backtest import (
    BacktestResult,
    Costs,
    ExecutionParameters,
    ParameterGrid,
    RunKind,
    Window,
    best_index,
)
from sixbtc.domain.candles import Candles
from sixbtc.domain.errors import IllegalTransition
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.robustness import (
    DeflatedSharpe,
    ReturnMoments,
    RobustnessPolicy,
    permutation_p_value,
)
from sixbtc.domain.scoring import ScoringPolicy
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe

log = logging.getLogger(__name__)


class _BacktestFailed(Exception):
    """The strategy cannot be backtested (its code failed, or its stored timeframe or parameters
    are unusable); the message becomes the retirement reason."""


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

    def windows(self, now: datetime, timeframe: Timeframe) -> tuple[Window, Window]:
        """Training and holdout windows ending at the last bar boundary of ``timeframe`` at or
        before ``now``; the holdout is the most recent ``holdout_days``."""
        step = timeframe.minutes * 60
        end = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
        split = end - timedelta(days=self.holdout_days)
        return Window(split - timedelta(days=self.training_days), split), Window(split, end)


@attrs.frozen
class _Search:
    """An initial backtest's result with what the gates need: the chosen timeframe's evaluation
    and the annualised training Sharpe of every configuration tried, by timeframe."""

    result: BacktestResult
    evaluation: _Evaluation
    trial_sharpes: list[list[float]]
    training_score: float
    coins: tuple[str, ...]


@attrs.frozen
class _Evaluation:
    """One timeframe's markets split into the two windows."""

    timeframe: Timeframe
    training_window: Window
    holdout_window: Window
    training: list[Market]
    holdout: list[Market]


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


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
    ) -> None:
        self.uow = uow
        self.market_data = market_data
        self.signal_source = signal_source
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.service = service

    def initial(self, strategy_id: uuid.UUID) -> BacktestResult | None:
        """Backtest a VALIDATED strategy on every timeframe and combination, choose on training,
        judge on holdout, store the result and let the pool admit or retire it.

        Returns the stored result, or None when the strategy was retired for a backtest error.
        """
        now = self.clock.now()
        code = self._read(strategy_id, Status.VALIDATED).code
        try:
            search = self._search(strategy_id, code, now)
            result = search.result
            problem = self._research_problem(strategy_id, code, search)
        except _BacktestFailed as failure:
            self._retire(strategy_id, Status.VALIDATED, str(failure))
            return None
        with self.uow as uow:
            strategy = self._current(uow, strategy_id, Status.VALIDATED)
            uow.backtests.add(result)
            decided = self._decision_time(uow)
            if problem is not None:
                self._reject(uow, strategy, result, problem, decided, coins=search.coins)
                return result
            admit(
                uow,
                self.settings.pool,
                strategy,
                result.score,
                at=decided,
                timeframe=result.timeframe,
                parameters=result.parameters.as_dict(),
                coins=search.coins,
                service=self.service,
            )
            uow.commit()
        return result

    def retest(self, strategy_id: uuid.UUID) -> BacktestResult | None:
        """Re-backtest an ACTIVE strategy on its timeframe with its parameters and the coins of its
        initial backtest (the current coins for a strategy that recorded none), windows rolled to
        now; store the result and let the pool keep or retire it. A coin the market data no longer
        serves raises MarketDataUnavailable: not the strategy's fault.

        Only the trade-count gates apply to a re-backtest: the spec asks for no more, and the
        parameters are not searched again, so there is no new selection to deflate or permute.

        Returns the stored result, or None when the strategy was retired for a backtest error.
        """
        now = self.clock.now()
        strategy = self._read(strategy_id, Status.ACTIVE)
        try:
            result = self._rerun(strategy, now)
        except _BacktestFailed as failure:
            self._retire(strategy_id, Status.ACTIVE, str(failure))
            return None
        with self.uow as uow:
            current = self._current(uow, strategy_id, Status.ACTIVE)
            uow.backtests.add(result)
            decided = self._decision_time(uow)
            problem = self._trade_count_problem(result)
            if problem is not None:
                self._reject(uow, current, result, problem, decided)
                return result
            rescore(
                uow, self.settings.pool, current, result.score, at=decided, service=self.service
            )
            uow.commit()
        return result

    def _search(self, strategy_id: uuid.UUID, code: str, now: datetime) -> _Search:
        s = self.settings
        combinations = s.grid.combinations()
        evaluations: list[_Evaluation] = []
        candidates: list[tuple[int, int, Metrics]] = []
        scores: list[float] = []
        symbols = self._symbols()
        for timeframe in s.timeframes:
            evaluation = self._evaluation(code, symbols, timeframe, now)
            metrics = self._simulate(evaluation.training, combinations)
            for index, training in enumerate(metrics):
                candidates.append((len(evaluations), index, training))
                scores.append(s.scoring.training_score(training, timeframe))
            evaluations.append(evaluation)
        best = best_index(scores)
        chosen, index, training = candidates[best]
        result = self._judge(
            strategy_id, RunKind.INITIAL, now, evaluations[chosen], combinations[index], training
        )
        sharpes = [[] for _ in evaluations]
        for evaluation, _, metrics in candidates:
            sharpes[evaluation].append(metrics.sharpe)
        return _Search(result, evaluations[chosen], sharpes, scores[best], tuple(symbols))

    def _trade_count_problem(self, result: BacktestResult) -> Reason | None:
        gates = self.settings.robustness
        if gates is None or result.score < self.settings.pool.min_score_entry:
            return None
        return gates.trade_counts_problem(result.training, result.holdout)

    def _research_problem(
        self, strategy_id: uuid.UUID, code: str, search: _Search
    ) -> Reason | None:
        """The first failing gate's reason, cheapest first (trade counts, deflated Sharpe,
        permutation); None when all pass or the score would not enter the pool anyway."""
        gates = self.settings.robustness
        problem = self._trade_count_problem(search.result)
        if (
            gates is None
            or problem is not None
            or search.result.score < self.settings.pool.min_score_entry
        ):
            return problem
        deflated = self._deflated_sharpe(search)
        problem = gates.deflated_sharpe_problem(deflated)
        if problem is not None or not gates.permutation_enabled:
            return problem
        p_value = self._permutation_p_value(strategy_id, code, search, gates.permutations)
        problem = gates.permutation_problem(p_value, gates.permutations)
        if problem is None:
            log.info(
                "strategy %s passed the research gates: deflated Sharpe %.3f, permutation p %.3f "
                "(%d permutations)",
                strategy_id,
                deflated.value,
                p_value,
                gates.permutations,
            )
        return problem

    def _deflated_sharpe(self, search: _Search) -> DeflatedSharpe:
        """The chosen configuration's training returns against every configuration tried, grouped
        by timeframe. Trials on other timeframes are compared in the chosen timeframe's per-bar
        unit: their annualised Sharpe divided by the square root of the chosen timeframe's bars
        per year."""
        result = search.result
        run = self.engine.run(search.evaluation.training, result.parameters, self.settings.costs)
        scale = math.sqrt(result.timeframe.bars_per_year)
        groups = [[sharpe / scale for sharpe in group] for group in search.trial_sharpes]
        return DeflatedSharpe.of(ReturnMoments.of_equity(run.equity), groups)

    def _permutation_p_value(
        self, strategy_id: uuid.UUID, code: str, search: _Search, permutations: int
    ) -> float:
        """Share (Masters' estimator) of training markets with permuted bar returns on which the
        strategy, with the chosen parameters, scores at least its training score."""
        timeframe, parameters = search.result.timeframe, search.result.parameters
        scores = []
        for k in range(permutations):  # one permutation at a time: a year of 5m bars is large
            candles = [
                permuted_candles(market.candles, permutation_rng(strategy_id, k, coin))
                for coin, market in enumerate(search.evaluation.training)
            ]
            signals = self._signals(code, candles, timeframe)
            markets = [Market(c, v) for c, v in zip(candles, signals, strict=True)]
            (metrics,) = self._simulate(markets, [parameters])
            scores.append(self.settings.scoring.training_score(metrics, timeframe))
        return permutation_p_value(search.training_score, scores)

    def _rerun(self, strategy: Strategy, now: datetime) -> BacktestResult:
        if strategy.timeframe is None:
            raise _BacktestFailed("no timeframe recorded; expected the one chosen initially")
        try:
            parameters = ExecutionParameters(**strategy.parameters)
        except (TypeError, ValueError) as error:
            raise _BacktestFailed(
                f"parameters {strategy.parameters!r} are not execution parameters ({error})"
            ) from None
        symbols = list(strategy.coins) or self._symbols()
        evaluation = self._evaluation(strategy.code, symbols, strategy.timeframe, now)
        (training,) = self._simulate(evaluation.training, [parameters])
        return self._judge(strategy.id, RunKind.RETEST, now, evaluation, parameters, training)

    def _judge(
        self,
        strategy_id: uuid.UUID,
        kind: RunKind,
        now: datetime,
        evaluation: _Evaluation,
        parameters: ExecutionParameters,
        training: Metrics,
    ) -> BacktestResult:
        timeframe = evaluation.timeframe
        (holdout,) = self._simulate(evaluation.holdout, [parameters])
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
        )

    def _symbols(self) -> list[str]:
        symbols = self.market_data.symbols()[: self.settings.coins]
        if not symbols:
            raise MarketDataUnavailable("market data serves no symbol")
        return symbols

    def _evaluation(
        self, code: str, symbols: Sequence[str], timeframe: Timeframe, now: datetime
    ) -> _Evaluation:
        """Candles of both windows for every coin, the strategy's signals computed once on them."""
        training_window, holdout_window = self.settings.windows(now, timeframe)
        split_ms = _ms(holdout_window.start)
        everything = [
            self.market_data.candles(symbol, timeframe, training_window.start, holdout_window.end)
            for symbol in symbols
        ]

        signals = self._signals(code, everything, timeframe)
        training, holdout = [], []
        for candles, coin_signals in zip(everything, signals, strict=True):
            split = int(np.searchsorted(candles.time, split_ms))
            training.append(Market(candles.slice(0, split), coin_signals[:split]))
            holdout.append(Market(candles.slice(split, len(candles)), coin_signals[split:]))
        if not any(len(m.candles) for m in training):
            raise MarketDataUnavailable(
                f"no {timeframe} candles for any coin in the training window "
                f"{training_window.start} .. {training_window.end}"
            )
        return _Evaluation(timeframe, training_window, holdout_window, training, holdout)

    def _signals(
        self, code: str, candles: Sequence[Candles], timeframe: Timeframe
    ) -> list[np.ndarray]:
        """The strategy's signals on each of ``candles``, ``signal_concurrency`` requests at once."""

        def signals_of(bars: Candles) -> np.ndarray:
            try:
                return np.asarray(self.signal_source.signals(code, bars))
            except StrategyFailed as error:  # the untrusted code failed: not ours
                raise _BacktestFailed(
                    f"strategy code on {bars.symbol} {timeframe}: {type(error).__name__}: {error}"
                ) from error

        with ThreadPoolExecutor(max(1, self.settings.signal_concurrency)) as pool:
            return list(pool.map(signals_of, candles))

    def _simulate(
        self, markets: list[Market], combinations: Sequence[ExecutionParameters]
    ) -> list[Metrics]:
        # An engine failure is our fault, not the strategy's: it propagates, the strategy stays
        # where it is and the claim's lease lets another attempt take it later.
        return self.engine.sweep(markets, combinations, self.settings.costs)

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

    def _reject(
        self,
        uow: UnitOfWork,
        strategy: Strategy,
        result: BacktestResult,
        problem: Reason,
        now: datetime,
        coins: Sequence[str] | None = None,
    ) -> None:
        """Retire a strategy that failed a research gate, its backtest recorded, and commit."""
        log.info("strategy %s retired: %s", strategy.id, problem)
        strategy.record_backtest(
            result.score,
            at=now,
            timeframe=result.timeframe,
            parameters=result.parameters.as_dict(),
            coins=coins,
        )
        strategy.retire(problem, at=now, service=self.service)
        uow.strategies.save(strategy)
        uow.commit()

    def _decision_time(self, uow: UnitOfWork) -> datetime:
        """Now, once this unit of work holds the pool lock: decisions are then timed in the order
        they commit."""
        uow.lock_pool()
        return self.clock.now()

    def _retire(self, strategy_id: uuid.UUID, status: Status, message: str) -> None:
        reason = Reason(Code.BACKTEST_ERROR, message)
        log.warning("strategy %s retired: %s", strategy_id, reason)
        with self.uow as uow:
            strategy = self._current(uow, strategy_id, status)
            strategy.retire(reason, at=self._decision_time(uow), service=self.service)
            uow.strategies.save(strategy)
            uow.commit()
