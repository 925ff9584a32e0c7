"""The research-validity gates between an initial backtest and the pool (spec section 12), cheapest
first: enough trades in each window, a deflated Sharpe above the bar set by every configuration
tried, and a permutation test (the same strategy and parameters on markets whose bars are
shuffled). The backtester asks them only about a candidate the pool would admit.
``docs/research.md`` gives the reasons and references."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import attrs

from sixbtc.application.errors import Interrupted
from sixbtc.application.markets import Evaluation, StrategyMarkets
from sixbtc.application.permutation import permutation_rng, permuted_candles
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import BacktestResult
from sixbtc.domain.reasons import Reason
from sixbtc.domain.robustness import (
    DeflatedSharpe,
    PermutationTest,
    ReturnMoments,
    RobustnessPolicy,
)
from sixbtc.domain.scoring import ScoringPolicy


@attrs.frozen
class Search:
    """An initial backtest's result with what the gates need: the chosen timeframe's evaluation,
    how many configurations were tried and the per-bar moments of the chosen one's training
    returns."""

    result: BacktestResult
    evaluation: Evaluation
    trials: int
    training_score: float
    coins: tuple[str, ...]
    training_moments: ReturnMoments


@attrs.frozen
class Verdict:
    """The gates' answer: the first failing gate's reason (None: all passed) and, when all passed,
    their figures."""

    problem: Reason | None
    figures: str = ""


@attrs.frozen
class ResearchGates:
    """The gates of ``policy`` on the markets of one worker; ``stopping`` is asked between two
    permutations (True: raise Interrupted, so that a stop does not wait for up to
    ``policy.permutations`` of them)."""

    policy: RobustnessPolicy
    scoring: ScoringPolicy
    markets: StrategyMarkets
    stopping: Callable[[], bool] = lambda: False

    def trade_counts_problem(self, result: BacktestResult) -> Reason | None:
        """Too few trades in a window (the only gate a re-backtest applies)."""
        return self.policy.trade_counts_problem(result.training, result.holdout)

    def verdict(self, strategy_id: uuid.UUID, code: str, search: Search) -> Verdict:
        """Every gate in turn, cheapest first, up to the first that fails."""
        gates = self.policy
        problem = self.trade_counts_problem(search.result)
        if problem is not None:
            return Verdict(problem)
        deflated = DeflatedSharpe.of(search.training_moments, search.trials)
        problem = gates.deflated_sharpe_problem(deflated)
        if problem is not None:
            return Verdict(problem)
        figures = f"deflated Sharpe {deflated.value:.3f}"
        if not gates.permutation_enabled:
            return Verdict(None, figures)
        test = self.permutation_test(strategy_id, code, search)
        return Verdict(gates.permutation_problem(test), f"{figures}, permutation {test}")

    def permutation_test(
        self, strategy_id: uuid.UUID, code: str, search: Search
    ) -> PermutationTest:
        """Masters' test: the strategy with the chosen parameters on training markets of the chosen
        timeframe whose bar returns are permuted, scored as in training, until the sequential test
        is finished; compared with the real training score. It asks whether the result depends on
        the order of the returns; the search's selection is the deflated Sharpe's to judge."""
        timeframe, parameters = search.result.timeframe, search.result.parameters
        test = self.policy.permutation_test(search.training_score)
        while not test.finished:  # one at a time: a year of 5m bars is large
            k = test.done
            if self.stopping():
                raise Interrupted(f"stopped after {k} of {test.planned} permutations")
            candles = [
                permuted_candles(market.candles, permutation_rng(strategy_id, k, coin))
                for coin, market in enumerate(search.evaluation.training)
            ]
            signals = self.markets.signals(code, candles, timeframe)
            markets = [Market(c, v) for c, v in zip(candles, signals, strict=True)]
            (metrics,) = self.markets.simulate(markets, [parameters])
            test.add(self.scoring.training_score(metrics, timeframe))
        return test
