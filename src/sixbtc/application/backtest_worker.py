"""One tick of a backtester worker: claim the next piece of work, run it, release the claim.

Spec section 4: workers of the ``validated`` kind only take VALIDATED strategies; the elastic
``retest`` worker first takes a re-backtest that is due (oldest first) and, when none is, helps with
VALIDATED. A claim holds the strategy for ``lease``; a worker that dies loses it when the lease
expires, and another worker takes the strategy over.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import attrs

from sixbtc.application.backtest import Backtester
from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.domain.backtest import BacktestResult, RunKind
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.strategy import Status, Strategy


@attrs.frozen
class BacktestOutcome:
    """What one tick did: which strategy, which kind of run, its result (None when it was retired
    for a backtest error) and the strategy's status afterwards."""

    strategy_id: uuid.UUID
    name: str
    kind: RunKind
    result: BacktestResult | None
    status: Status
    reason: str | None


@attrs.frozen
class BacktestWorker:
    """A backtester worker; ``elastic`` makes it the retest worker of the spec."""

    unit_of_work: UnitOfWork
    backtester: Backtester
    clock: Clock
    schedule: RetestSchedule
    owner: str
    elastic: bool = False
    lease: timedelta = timedelta(minutes=30)

    def tick(self) -> BacktestOutcome | None:
        """Run one claimed backtest; None when there was nothing to do."""
        strategy = self._claim()
        if strategy is None:
            return None
        kind = RunKind.RETEST if strategy.status is Status.ACTIVE else RunKind.INITIAL
        try:
            if kind is RunKind.RETEST:
                result = self.backtester.retest(strategy.id)
            else:
                result = self.backtester.initial(strategy.id)
        finally:
            with self.unit_of_work as uow:
                uow.strategies.release(strategy.id, self.owner)
                after = uow.strategies.get(strategy.id)
                uow.commit()
        return BacktestOutcome(
            strategy.id, strategy.name, kind, result, after.status, after.retired_reason
        )

    def _claim(self) -> Strategy | None:
        now = self.clock.now()
        with self.unit_of_work as uow:
            claimed = []
            if self.elastic:
                cutoff = self.schedule.cutoff(now)
                claimed = uow.strategies.claim_due_for_retest(
                    cutoff, 1, self.owner, now, self.lease
                )
            if not claimed:
                claimed = uow.strategies.claim(Status.VALIDATED, 1, self.owner, now, self.lease)
            uow.commit()
        return claimed[0] if claimed else None
