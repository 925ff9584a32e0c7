"""What the web dashboard shows (``sixbtc web``): read models of the factory, the pool, the LIVE
strategies, the events and the service processes, each built in one unit of work and never used
for decisions. One strategy's whole record is :class:`~sixbtc.application.strategy_report.
StrategyReports`'s (the same as ``sixbtc strategy show``)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from sixbtc.application.ports import Clock, StrategyFilter, UnitOfWork
from sixbtc.application.status import SERVICES_SHOWN, FactoryStatus, StatusQuery
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.live import live_metrics
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.reasons import Code
from sixbtc.domain.strategy import Status, StatusChange
from sixbtc.domain.timeframe import Timeframe
from sixbtc.domain.trade import Trade

#: A running process not heard from for this long is silent, unless its service is given its own
#: time (a service whose loop waits longer between ticks).
SILENT_AFTER = timedelta(minutes=10)


@attrs.frozen
class ServiceHealth:
    """One service process at ``wall`` time: its heartbeat, how long ago it ticked (seconds) and
    its state: ``running``, ``failing`` (its latest tick failed), ``silent`` (not heard from
    within its allowed time, not stopped) or ``stopped`` (it stopped cleanly)."""

    heartbeat: Heartbeat
    age_seconds: float
    state: str

    @classmethod
    def of(cls, heartbeat: Heartbeat, wall: datetime, silent_after: timedelta) -> ServiceHealth:
        age = (wall - heartbeat.beat_at).total_seconds()
        if heartbeat.stopped_at is not None:
            state = "stopped"
        elif age > silent_after.total_seconds():
            state = "silent"
        elif heartbeat.last_error_at is not None and heartbeat.last_error_at >= heartbeat.beat_at:
            state = "failing"
        else:
            state = "running"
        return cls(heartbeat, age, state)


def service_health(
    beats: list[Heartbeat], wall: datetime, silent_after: dict[str, timedelta]
) -> list[ServiceHealth]:
    """The processes heard from within :data:`SERVICES_SHOWN`, by service then latest first."""
    recent = [h for h in beats if wall - (h.stopped_at or h.beat_at) <= SERVICES_SHOWN]
    recent.sort(key=lambda h: (h.service, -h.beat_at.timestamp()))
    return [ServiceHealth.of(h, wall, silent_after.get(h.service, SILENT_AFTER)) for h in recent]


@attrs.frozen
class Overview:
    """The factory at a glance: ``sixbtc status``'s figures, the pool's scores (lowest first),
    the LIVE subaccounts' combined capital and equity (their latest balances; None before any),
    and each recent service process's health."""

    status: FactoryStatus
    scores: list[float]
    capital: float
    equity: float | None
    services: list[ServiceHealth]


@attrs.frozen
class PoolRow:
    """One ACTIVE strategy on the leaderboard (rank 1 is the best)."""

    rank: int
    id: uuid.UUID
    name: str
    strategy_type: str
    timeframe: Timeframe | None
    score: float | None
    last_backtested_at: datetime | None
    created_at: datetime


@attrs.frozen
class LiveStrategy:
    """A LIVE strategy and its subaccount: capital, latest balance and peak, its open trades
    (its positions), its closed trades' profit, its live metrics and scores, and its equity
    curve (capital plus the closed trades' cumulative profit, from ``live_since``)."""

    id: uuid.UUID
    name: str
    strategy_type: str
    timeframe: Timeframe | None
    subaccount: int | None
    live_since: datetime | None
    capital: float | None
    balance: float | None
    peak: float | None
    score_backtest: float | None
    score_live: float | None
    positions: list[Trade]
    closed_trades: int
    profit: float
    metrics: Metrics | None
    equity: list[tuple[datetime, float]]


@attrs.frozen
class EventRow:
    """One status change and the strategy's name."""

    name: str
    event: StatusChange


@attrs.frozen
class EventLog:
    """The latest status changes (newest first) and every retirement counted by reason code."""

    events: list[EventRow]
    retirements: dict[Code, int]


@attrs.frozen
class DashboardQuery:
    """Builds the dashboard's read models; ``silent_after`` gives a service more time between
    heartbeats than :data:`SILENT_AFTER` (the rotator and monitor wait minutes between ticks)."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    wall_clock: Clock
    status: StatusQuery
    silent_after: dict[str, timedelta] = attrs.field(factory=dict)

    def overview(self) -> Overview:
        status = self.status()
        with self.unit_of_work() as uow:
            scores = sorted(
                s.score for s in uow.strategies.standings(Status.ACTIVE) if s.score is not None
            )
            beats = uow.heartbeats.all()
        held = [s for s in status.slots if s.strategy is not None]
        balances = [s.balance for s in held if s.balance is not None]
        return Overview(
            status=status,
            scores=scores,
            capital=sum(s.capital or 0.0 for s in held),
            equity=sum(balances) if balances else None,
            services=service_health(beats, status.wall, self.silent_after),
        )

    def pool(self, limit: int | None = None) -> list[PoolRow]:
        """The ACTIVE pool, best score first (``limit``: the best ones only)."""
        with self.unit_of_work() as uow:
            found = uow.strategies.search(
                StrategyFilter(statuses=frozenset({Status.ACTIVE}), limit=limit)
            )
        return [
            PoolRow(
                rank,
                s.id,
                s.name,
                s.strategy_type,
                s.timeframe,
                s.score_backtest,
                s.last_backtested_at,
                s.created_at,
            )
            for rank, s in enumerate(found, start=1)
        ]

    def live(self) -> list[LiveStrategy]:
        """Every LIVE strategy, by subaccount."""
        with self.unit_of_work() as uow:
            accounts = {a.strategy_id: a for a in uow.subaccounts.all() if a.strategy_id}
            rows = []
            for strategy in uow.strategies.by_status(Status.LIVE):
                account = accounts.get(strategy.id)
                trades = uow.trades.for_strategy(strategy.id)
                closed = sorted((t for t in trades if not t.is_open), key=lambda t: t.exit_time)
                metrics = None
                if account is not None and strategy.timeframe is not None:
                    # the later of now and its last exit: a database a fast clock wrote is ahead
                    now = max([self.clock.now(), *(t.exit_time for t in closed)])
                    since = strategy.live_since or now
                    metrics = live_metrics(
                        trades, account.allocated_capital, since, now, strategy.timeframe
                    )
                capital = account.allocated_capital if account else None
                equity: list[tuple[datetime, float]] = []
                if capital is not None:
                    start = strategy.live_since or (closed[0].entry_time if closed else None)
                    total = capital
                    equity = [(start, total)] if start else []
                    for trade in closed:
                        total += trade.pnl or 0.0
                        equity.append((trade.exit_time, total))
                rows.append(
                    LiveStrategy(
                        id=strategy.id,
                        name=strategy.name,
                        strategy_type=strategy.strategy_type,
                        timeframe=strategy.timeframe,
                        subaccount=account.id if account else None,
                        live_since=strategy.live_since,
                        capital=capital,
                        balance=account.current_balance if account else None,
                        peak=account.peak_balance if account else None,
                        score_backtest=strategy.score_backtest,
                        score_live=strategy.score_live,
                        positions=[t for t in trades if t.is_open],
                        closed_trades=len(closed),
                        profit=sum(t.pnl or 0.0 for t in closed),
                        metrics=metrics,
                        equity=equity,
                    )
                )
        rows.sort(key=lambda r: (r.subaccount is None, r.subaccount or 0, r.name))
        return rows

    def events(self, limit: int = 200) -> EventLog:
        """The ``limit`` latest status changes and the retirements by reason (all of them)."""
        with self.unit_of_work() as uow:
            every = uow.strategies.recent_events(None)
        retirements = Counter(
            e.reason.code for _, e in every if e.to_status is Status.RETIRED
        ).most_common()
        return EventLog(
            events=[EventRow(name, event) for name, event in every[:limit]],
            retirements=dict(retirements),
        )

    def services(self) -> list[ServiceHealth]:
        """The service processes heard from within :data:`SERVICES_SHOWN`."""
        wall = self.wall_clock.now()
        with self.unit_of_work() as uow:
            beats = uow.heartbeats.all()
        return service_health(beats, wall, self.silent_after)
