"""Research on a market whose truth is known (``sixbtc research``): one pass of the factory, then
what each research gate rejected with its figures, what entered the pool and what would go LIVE.

On a null market every strategy that enters the pool is a false discovery; on a market with a
planted edge the strategies that exploit it should enter and lead (spec section 12,
``docs/research.md``).
"""

from __future__ import annotations

from collections import Counter

import attrs

from sixbtc.application.pipeline import PassReport, PipelinePass, Progress
from sixbtc.application.ports import StrategyFilter, UnitOfWork
from sixbtc.domain.reasons import Code
from sixbtc.domain.strategy import Status, Strategy

#: The research gates, cheapest first (the order they are asked in).
GATES = (Code.MIN_TRADES_TRAINING, Code.MIN_TRADES_HOLDOUT, Code.DEFLATED_SHARPE, Code.PERMUTATION)


@attrs.frozen
class GateRejections:
    """The strategies one gate retired, best backtest score first."""

    gate: Code
    strategies: list[Strategy]


@attrs.frozen
class ResearchReport:
    """A research pass: the pass itself, each gate's rejections, the pool by strategy type and the
    seconds the backtests spent searching and in the gates."""

    passed: PassReport
    rejections: list[GateRejections]
    spent: dict[str, float]

    @property
    def candidates(self) -> int:
        """Strategies that scored enough to enter and so met the gates."""
        entered = self.passed.statuses[Status.ACTIVE] + self.passed.statuses[Status.LIVE]
        return entered + sum(len(r.strategies) for r in self.rejections)

    @property
    def entered(self) -> list[Strategy]:
        """The pool, best first."""
        return self.passed.leaderboard

    @property
    def pool_types(self) -> dict[str, int]:
        """How many strategies of each type entered the pool."""
        return dict(Counter(s.strategy_type for s in self.entered).most_common())

    @property
    def gate_share(self) -> float:
        """The gates' share of the pass's time (0 when the pass took none)."""
        total = sum(self.passed.seconds.values())
        return self.spent.get("gates", 0.0) / total if total else 0.0


@attrs.frozen
class Research:
    """A research pass on the use cases of one (fresh) factory."""

    unit_of_work: UnitOfWork
    pipeline: PipelinePass

    def run(
        self,
        strategies: int,
        progress: Progress = lambda message: None,
        stage: Progress = lambda message: None,
    ) -> ResearchReport:
        """Generate ``strategies``, take each as far as it goes and gather the gates' rejections."""
        passed = self.pipeline.run(strategies, progress=progress, stage=stage)
        with self.unit_of_work as uow:
            rejections = [
                GateRejections(
                    gate, uow.strategies.search(StrategyFilter(reasons=frozenset({gate})))
                )
                for gate in GATES
            ]
        spent = dict(self.pipeline.backtest.backtester.spent)
        return ResearchReport(passed, rejections, spent)
