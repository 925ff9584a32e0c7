"""One tick of a backtester worker: claim the next piece of work, run it, release the claim.

Spec section 4: workers of the ``validated`` kind only take VALIDATED strategies; the elastic
``retest`` worker first takes a re-backtest that is due (oldest first) and, when none is, helps with
VALIDATED. A claim holds the strategy for ``lease``, renewed while the worker works on it; a worker
that dies loses it when the lease expires, and another worker takes the strategy over. When the work
fails for a reason that is not the strategy's (the database, the sandbox, market data), the strategy
keeps its status and waits a back-off before it is claimed again; the tick raises the failure.
"""

from __future__ import annotations

import logging
import uuid

import attrs

from sixbtc.application.backtest import Backtester
from sixbtc.application.claims import ClaimKeeper
from sixbtc.application.errors import Interrupted
from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.domain.backtest import BacktestResult, RunKind
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.strategy import Status, Strategy

log = logging.getLogger(__name__)


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
    """A backtester worker; ``elastic`` makes it the retest worker of the spec. ``claims`` holds
    what it claims (owner and lease are the keeper's)."""

    unit_of_work: UnitOfWork
    backtester: Backtester
    clock: Clock
    schedule: RetestSchedule
    claims: ClaimKeeper
    elastic: bool = False

    @property
    def owner(self) -> str:
        return self.claims.owner

    def tick(self) -> BacktestOutcome | None:
        """Run one claimed backtest; None when there was nothing to do, or when a stop interrupted
        it (the strategy goes back to the queue unchanged, no failure recorded)."""
        strategy = self._claim()
        if strategy is None:
            return None
        kind = RunKind.RETEST if strategy.status is Status.ACTIVE else RunKind.INITIAL
        run = self.backtester.retest if kind is RunKind.RETEST else self.backtester.initial
        try:
            with self.claims.renewing([strategy.id]):
                result = run(strategy.id, claimed_by=self.owner)
        except Interrupted as stopped:  # a stop was asked: back to the queue as it was
            log.info("strategy %s goes back to the queue: %s", strategy.name, stopped)
            self.claims.release([strategy.id])
            return None
        except Exception as error:
            self.claims.defer(strategy.id, error)
            raise
        except BaseException:  # interrupted: the strategy goes back to the queue as it was
            self.claims.release([strategy.id])
            raise
        self.claims.release([strategy.id])
        with self.unit_of_work as uow:
            after = uow.strategies.get(strategy.id)
        return BacktestOutcome(
            strategy.id, strategy.name, kind, result, after.status, after.retired_reason
        )

    def _claim(self) -> Strategy | None:
        now = self.clock.now()
        with self.unit_of_work as uow:
            claimed = []
            if self.elastic:
                cutoff = self.schedule.cutoff(now)
                claimed = uow.claims.claim_due_for_retest(
                    cutoff, 1, self.owner, now, self.claims.lease
                )
            if not claimed:
                claimed = uow.claims.claim(Status.VALIDATED, 1, self.owner, now, self.claims.lease)
            uow.commit()
        return claimed[0] if claimed else None
