"""An in-memory unit of work with real transaction semantics (rollback unless committed).

Units of work on one :class:`InMemoryStore` are serialised by the store's lock, so claims and pool
changes are trivially atomic within a process.
"""

from __future__ import annotations

import copy
import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Self

import attrs

from sixbtc.adapters.memory.safety import (
    InMemoryHaltRepository,
    InMemoryIssueRepository,
    InMemoryPortfolioRepository,
)
from sixbtc.adapters.memory.trading import (
    InMemoryFillRepository,
    InMemoryHeartbeatRepository,
    InMemoryOrderRepository,
    InMemorySubaccountRepository,
    InMemoryTradeRepository,
)
from sixbtc.application.errors import DuplicateStrategy, NotFound
from sixbtc.application.ports import HeldClaim, StrategyFilter
from sixbtc.domain.backtest import BacktestResult
from sixbtc.domain.emergency import PortfolioDay
from sixbtc.domain.halt import Halt
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.orders import Fill, Order
from sixbtc.domain.reconciliation import Issue
from sixbtc.domain.retest import RetestSchedule
from sixbtc.domain.retry import WorkFailure
from sixbtc.domain.strategy import Standing, Status, StatusChange, Strategy
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.trade import Trade


@attrs.frozen
class Claim:
    owner: str
    expires_at: datetime


class InMemoryStore:
    """The committed state shared by the units of work of one process."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.strategies: dict[uuid.UUID, Strategy] = {}
        self.events: list[StatusChange] = []
        self.backtests: list[BacktestResult] = []
        self.claims: dict[uuid.UUID, Claim] = {}
        self.failures: dict[uuid.UUID, WorkFailure] = {}
        self.subaccounts: dict[int, Subaccount] = {}
        self.orders: dict[str, Order] = {}
        self.fills: dict[tuple[int, int], Fill] = {}
        self.trades: dict[uuid.UUID, Trade] = {}
        self.heartbeats: dict[tuple[str, str], Heartbeat] = {}
        self.halts: dict[int, Halt] = {}
        self.issues: dict[int, Issue] = {}
        self.portfolio: dict[date, PortfolioDay] = {}


def _detached(strategy: Strategy) -> Strategy:
    """A copy that shares nothing mutable with ``strategy`` and carries no pending events."""
    clone = copy.copy(strategy)
    clone.events = []
    return clone


class InMemoryStrategyRepository:
    """Strategies of one unit of work: an identity map over the store's committed rows."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.seen: dict[uuid.UUID, Strategy] = {}

    def all(self) -> Iterator[Strategy]:
        """Every strategy as this unit of work sees it."""
        for sid, strategy in self._store.strategies.items():
            yield self.seen.get(sid, strategy)
        for sid, strategy in self.seen.items():
            if sid not in self._store.strategies:
                yield strategy

    def load(self, strategy_id: uuid.UUID) -> Strategy:
        """The strategy, loaded into this unit of work."""
        if strategy_id not in self.seen:
            self.seen[strategy_id] = _detached(self._store.strategies[strategy_id])
        return self.seen[strategy_id]

    def add(self, strategy: Strategy) -> None:
        if strategy.id in self.seen or strategy.id in self._store.strategies:
            raise DuplicateStrategy(f"strategy {strategy.id} already exists")
        for other in self.all():
            if other.code_hash == strategy.code_hash:
                raise DuplicateStrategy(
                    f"strategy {strategy.name!r}: same code as {other.name!r} ({other.id})"
                )
        self.seen[strategy.id] = strategy

    def get(self, strategy_id: uuid.UUID) -> Strategy:
        if strategy_id not in self.seen and strategy_id not in self._store.strategies:
            raise NotFound(f"strategy {strategy_id} does not exist")
        return self.load(strategy_id)

    def save(self, strategy: Strategy) -> None:
        if self.seen.get(strategy.id) is not strategy:
            raise NotFound(f"strategy {strategy.id} was not loaded in this unit of work")

    def by_status(self, status: Status) -> list[Strategy]:
        found = [s for s in self.all() if s.status is status]
        found.sort(key=lambda s: (s.created_at, s.id.int))
        return [self.load(s.id) for s in found]

    def count(self, status: Status) -> int:
        return sum(1 for s in self.all() if s.status is status)

    def search(self, wanted: StrategyFilter) -> list[Strategy]:
        found = [s for s in self.all() if wanted.matches(s)]
        found.sort(
            key=lambda s: (
                s.score_backtest is None,
                -(s.score_backtest or 0),
                s.created_at,
                s.id.int,
            )
        )
        return [self.load(s.id) for s in found[: wanted.limit]]

    def named(self, name: str) -> Strategy | None:
        found = next((s for s in self.all() if s.name == name), None)
        return None if found is None else self.load(found.id)

    def standings(self, status: Status = Status.ACTIVE) -> list[Standing]:
        return [s.standing() for s in self.all() if s.status is status]

    def reached(self, status: Status) -> int:
        return len({e.strategy_id for e in self._store.events if e.to_status is status})

    def recent_events(self, limit: int | None) -> list[tuple[str, StatusChange]]:
        latest = self._store.events[::-1][:limit]
        return [(self._store.strategies[e.strategy_id].name, e) for e in latest]

    def live_events(self, since: datetime) -> list[tuple[str, StatusChange]]:
        return [
            (self._store.strategies[e.strategy_id].name, e)
            for e in self._store.events
            if e.at > since and Status.LIVE in (e.from_status, e.to_status)
        ]

    def events(self, strategy_id: uuid.UUID) -> list[StatusChange]:
        committed = [e for e in self._store.events if e.strategy_id == strategy_id]
        pending = self.seen[strategy_id].events if strategy_id in self.seen else []
        return committed + list(pending)


class InMemoryClaimRepository:
    """The work queue of one unit of work over the store's committed claims and failures."""

    def __init__(self, store: InMemoryStore, strategies: InMemoryStrategyRepository) -> None:
        self._strategies = strategies
        self.claims: dict[uuid.UUID, Claim] = dict(store.claims)
        self.failures: dict[uuid.UUID, WorkFailure] = dict(store.failures)

    def _claimable(self, strategy: Strategy, now: datetime) -> bool:
        claim = self.claims.get(strategy.id)
        failure = self.failures.get(strategy.id)
        return (claim is None or claim.expires_at <= now) and (
            failure is None or failure.retry_after <= now
        )

    def _take(self, chosen: list[Strategy], owner: str, now: datetime, lease: timedelta):
        for strategy in chosen:
            self.claims[strategy.id] = Claim(owner, now + lease)
        return [self._strategies.load(s.id) for s in chosen]

    def claim(
        self, status: Status, limit: int, owner: str, now: datetime, lease: timedelta
    ) -> list[Strategy]:
        free = [s for s in self._strategies.all() if s.status is status and self._claimable(s, now)]
        free.sort(key=lambda s: (s.created_at, s.id.int))
        return self._take(free[:limit], owner, now, lease)

    def claim_due_for_retest(
        self, cutoff: datetime, limit: int, owner: str, now: datetime, lease: timedelta
    ) -> list[Strategy]:
        free = {
            s.id: s
            for s in self._strategies.all()
            if s.status is Status.ACTIVE and self._claimable(s, now)
        }
        due = RetestSchedule(now - cutoff).due([s.standing() for s in free.values()], now, limit)
        return self._take([free[d.strategy_id] for d in due], owner, now, lease)

    def _holds(self, strategy_id: uuid.UUID, owner: str) -> bool:
        claim = self.claims.get(strategy_id)
        return claim is not None and claim.owner == owner

    def release(self, strategy_id: uuid.UUID, owner: str) -> None:
        if self._holds(strategy_id, owner):
            del self.claims[strategy_id]
            self.failures.pop(strategy_id, None)

    def renew(
        self, strategy_ids: Iterable[uuid.UUID], owner: str, now: datetime, lease: timedelta
    ) -> set[uuid.UUID]:
        held = {sid for sid in strategy_ids if self._holds(sid, owner)}
        for sid in held:
            self.claims[sid] = Claim(owner, now + lease)
        return held

    def failure(self, strategy_id: uuid.UUID) -> WorkFailure | None:
        self._strategies.get(strategy_id)
        return self.failures.get(strategy_id)

    def defer(self, strategy_id: uuid.UUID, owner: str, failure: WorkFailure) -> None:
        if self._holds(strategy_id, owner):
            del self.claims[strategy_id]
            self.failures[strategy_id] = failure

    def deferred(self) -> list[tuple[Strategy, WorkFailure]]:
        found = sorted(self.failures.items(), key=lambda item: (item[1].at, item[0].int))
        return [(self._strategies.load(sid), failure) for sid, failure in found]

    def held(self, now: datetime) -> list[HeldClaim]:
        live = [(sid, c) for sid, c in self.claims.items() if c.expires_at > now]
        live.sort(key=lambda item: (item[1].expires_at, item[0].int))
        held = []
        for sid, claim in live:
            strategy = self._strategies.load(sid)
            held.append(HeldClaim(strategy.name, strategy.status, claim.owner, claim.expires_at))
        return held


class InMemoryBacktestRepository:
    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self.added: list[BacktestResult] = []

    def add(self, result: BacktestResult) -> None:
        self.added.append(result)

    def for_strategy(self, strategy_id: uuid.UUID) -> list[BacktestResult]:
        runs = [r for r in (*self._store.backtests, *self.added) if r.strategy_id == strategy_id]
        return sorted(runs, key=lambda r: r.run_at)


class InMemoryUnitOfWork:
    """A unit of work over an :class:`InMemoryStore`; rolls back unless committed."""

    def __init__(self, store: InMemoryStore | None = None) -> None:
        self.store = store if store is not None else InMemoryStore()
        self.committed = False

    def __enter__(self) -> Self:
        self.store.lock.acquire()
        self._begin()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.rollback()
        finally:
            self.store.lock.release()

    def _begin(self) -> None:
        self.strategies = InMemoryStrategyRepository(self.store)
        self.claims = InMemoryClaimRepository(self.store, self.strategies)
        self.subaccounts = InMemorySubaccountRepository(self.store.subaccounts)
        self.orders = InMemoryOrderRepository(self.store.orders)
        self.fills = InMemoryFillRepository(self.store.fills)
        self.trades = InMemoryTradeRepository(self.store.trades)
        self.heartbeats = InMemoryHeartbeatRepository(self.store.heartbeats)
        self.halts = InMemoryHaltRepository(self.store.halts)
        self.issues = InMemoryIssueRepository(self.store.issues)
        self.portfolio = InMemoryPortfolioRepository(self.store.portfolio)
        self.backtests = InMemoryBacktestRepository(self.store)

    def commit(self) -> None:
        store = self.store
        for sid, strategy in self.strategies.seen.items():
            store.events.extend(strategy.events)
            strategy.events.clear()
            store.strategies[sid] = _detached(strategy)
        store.claims = dict(self.claims.claims)
        store.failures = dict(self.claims.failures)
        store.backtests.extend(self.backtests.added)
        for records in (
            self.subaccounts,
            self.orders,
            self.fills,
            self.trades,
            self.heartbeats,
            self.halts,
            self.issues,
            self.portfolio,
        ):
            records.publish()
        self.committed = True
        self._begin()

    def rollback(self) -> None:
        self._begin()

    def lock_pool(self) -> None:
        """Units of work on one store are already serialised; nothing more to hold."""
