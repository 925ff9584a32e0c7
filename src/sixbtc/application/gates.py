"""The research-validity gates between an initial backtest and the pool (spec section 12), cheapest
first: enough trades in each window, a deflated Sharpe above the bar set by every configuration
tried, and a permutation test (the same strategy and parameters on markets whose bars are
shuffled). The backtester asks them only about a candidate the pool would admit."""

from __future__ import annotations

import math
import uuid

import attrs

from sixbtc.application.markets import Evaluation, StrategyMarkets
from sixbtc.application.permutation import permutation_rng, permuted_candles
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import BacktestResult
from sixbtc.domain.reasons import Reason
from sixbtc.domain.robustness import (
    DeflatedSharpe,
    ReturnMoments,
    RobustnessPolicy,
    permutation_p_value,
)
from sixbtc.domain.scoring import ScoringPolicy


@attrs.frozen
class Search:
    """An initial backtest's result with what the gates need: the chosen timeframe's evaluation
    and the annualised training Sharpe of every configuration tried, by timeframe."""

    result: BacktestResult
    evaluation: Evaluation
    trial_sharpes: list[list[float]]
    training_score: float
    coins: tuple[str, ...]


@attrs.frozen
class Verdict:
    """The gates' answer: the first failing gate's reason (None: all passed) and, when all passed,
    their figures."""

    problem: Reason | None
    figures: str = ""


@attrs.frozen
class ResearchGates:
    """The gates of ``policy`` on the markets of one worker."""

    policy: RobustnessPolicy
    scoring: ScoringPolicy
    markets: StrategyMarkets

    def trade_counts_problem(self, result: BacktestResult) -> Reason | None:
        """Too few trades in a window (the only gate a re-backtest applies)."""
        return self.policy.trade_counts_problem(result.training, result.holdout)

    def verdict(self, strategy_id: uuid.UUID, code: str, search: Search) -> Verdict:
        """Every gate in turn, cheapest first, up to the first that fails."""
        gates = self.policy
        problem = self.trade_counts_problem(search.result)
        if problem is not None:
            return Verdict(problem)
        deflated = self._deflated_sharpe(search)
        problem = gates.deflated_sharpe_problem(deflated)
        if problem is not None:
            return Verdict(problem)
        figures = f"deflated Sharpe {deflated.value:.3f}"
        if not gates.permutation_enabled:
            return Verdict(None, figures)
        p_value = self._permutation_p_value(strategy_id, code, search)
        figures += f", permutation p {p_value:.3f} ({gates.permutations} permutations)"
        return Verdict(gates.permutation_problem(p_value, gates.permutations), figures)

    def _deflated_sharpe(self, search: Search) -> DeflatedSharpe:
        """The chosen configuration's training returns against every configuration tried, grouped
        by timeframe. Trials on other timeframes are compared in the chosen timeframe's per-bar
        unit: their annualised Sharpe divided by the square root of the chosen timeframe's bars
        per year."""
        result = search.result
        run = self.markets.engine.run(
            search.evaluation.training, result.parameters, self.markets.costs
        )
        scale = math.sqrt(result.timeframe.bars_per_year)
        groups = [[sharpe / scale for sharpe in group] for group in search.trial_sharpes]
        return DeflatedSharpe.of(ReturnMoments.of_equity(run.equity), groups)

    def _permutation_p_value(self, strategy_id: uuid.UUID, code: str, search: Search) -> float:
        """Share (Masters' estimator) of training markets with permuted bar returns on which the
        strategy, with the chosen parameters, scores at least its training score."""
        timeframe, parameters = search.result.timeframe, search.result.parameters
        scores = []
        for k in range(self.policy.permutations):  # one at a time: a year of 5m bars is large
            candles = [
                permuted_candles(market.candles, permutation_rng(strategy_id, k, coin))
                for coin, market in enumerate(search.evaluation.training)
            ]
            signals = self.markets.signals(code, candles, timeframe)
            markets = [Market(c, v) for c, v in zip(candles, signals, strict=True)]
            (metrics,) = self.markets.simulate(markets, [parameters])
            scores.append(self.scoring.training_score(metrics, timeframe))
        return permutation_p_value(search.training_score, scores)
