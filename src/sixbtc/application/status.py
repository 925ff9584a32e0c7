"""The factory at a glance (``sixbtc status``): a read model built from the repositories, never
used for decisions."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from sixbtc.application.ports import Clock, HeldClaim, UnitOfWork
from sixbtc.domain.halt import Halt
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.reconciliation import Issue
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.strategy import Status
from sixbtc.domain.subaccount import Subaccount

#: Heartbeats shown: those of processes heard from (or stopped) within this time.
SERVICES_SHOWN = timedelta(days=1)


@attrs.frozen
class PoolFigures:
    """The ACTIVE pool: its size against its capacity, and its scores."""

    size: int
    max_size: int
    min_score: float | None
    median_score: float | None
    max_score: float | None
    due_retests: int


@attrs.frozen
class Queue:
    """Strategies waiting in ``status`` and the limit at which their producer pauses."""

    status: Status
    waiting: int
    limit: int


@attrs.frozen
class Slot:
    """A subaccount, the strategy it holds and its figures; all None when it is free (the last
    strategy's figures are history, in its trades)."""

    subaccount: int
    strategy: str | None
    status: Status | None
    capital: float | None
    balance: float | None
    peak: float | None


@attrs.frozen
class FactoryStatus:
    """What ``sixbtc status`` shows. ``at`` is the factory's clock (market time), ``wall`` the
    wall clock the heartbeats are measured in."""

    at: datetime
    wall: datetime
    statuses: dict[Status, int]
    pool: PoolFigures
    max_live: int
    slots: list[Slot]
    queues: list[Queue]
    deferred: int
    claims: list[HeldClaim]
    #: Processes heard from within ``SERVICES_SHOWN`` (running, stopped or silent).
    services: list[Heartbeat]
    #: Heartbeats older than that (processes long gone), not listed.
    older_services: int
    #: The kill switch's active halts (none: trading runs).
    halts: list[Halt]
    #: Reconciliation's unresolved issues (each blocks entries on its subaccount).
    issues: list[Issue]

    @property
    def live(self) -> int:
        """Strategies LIVE now (the slots in use)."""
        return self.statuses[Status.LIVE]


@attrs.frozen
class StatusQuery:
    """Reads the :class:`FactoryStatus` in one unit of work."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    wall_clock: Clock
    schedule: RetestSchedule
    selection: LiveSelection
    pool_size: int
    queue_limits: dict[Status, int]

    def __call__(self) -> FactoryStatus:
        now, wall = self.clock.now(), self.wall_clock.now()
        with self.unit_of_work() as uow:
            statuses = {status: uow.strategies.count(status) for status in Status}
            standings = uow.strategies.standings(Status.ACTIVE)
            scores = sorted(s.score for s in standings if s.score is not None)
            pool = PoolFigures(
                size=len(standings),
                max_size=self.pool_size,
                min_score=scores[0] if scores else None,
                median_score=statistics.median(scores) if scores else None,
                max_score=scores[-1] if scores else None,
                due_retests=sum(self.schedule.is_due(s, now) for s in standings),
            )
            beats = uow.heartbeats.all()
            recent = [h for h in beats if wall - (h.stopped_at or h.beat_at) <= SERVICES_SHOWN]
            return FactoryStatus(
                at=now,
                wall=wall,
                statuses=statuses,
                pool=pool,
                max_live=self.selection.max_live,
                slots=[_slot(uow, account) for account in uow.subaccounts.all()],
                queues=[Queue(s, statuses[s], limit) for s, limit in self.queue_limits.items()],
                deferred=len(uow.claims.deferred()),
                claims=uow.claims.held(now),
                services=recent,
                older_services=len(beats) - len(recent),
                halts=uow.halts.active(),
                issues=uow.issues.unresolved(),
            )


def _slot(uow: UnitOfWork, account: Subaccount) -> Slot:
    if account.strategy_id is None:
        return Slot(account.id, None, None, None, None, None)
    held = uow.strategies.get(account.strategy_id)
    return Slot(
        account.id,
        held.name,
        held.status,
        account.allocated_capital,
        account.current_balance,
        account.peak_balance,
    )
