"""Ports: what the use cases need from the outside world, one concern each.

Ports speak domain types and numpy arrays, never DataFrames or exchange dicts. Adapters implement
them (``InMemory...`` in :mod:`sixbtc.adapters.memory`, SQLAlchemy, ccxt, numba, ...).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, Self

import attrs
import numpy as np

from sixbtc.domain.backtest import BacktestResult, Costs, ExecutionParameters
from sixbtc.domain.candles import Candles
from sixbtc.domain.emergency import PortfolioDay
from sixbtc.domain.halt import Halt
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.notification import Notification
from sixbtc.domain.orders import Fill, Order, OrderRequest, Position, Protection
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.reconciliation import Issue
from sixbtc.domain.retry import WorkFailure
from sixbtc.domain.simulation import SimulationRun
from sixbtc.domain.strategy import Standing, Status, StatusChange, Strategy
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.timeframe import Timeframe
from sixbtc.domain.trade import Trade


class Clock(Protocol):
    """The current time. Domain and application never read the system clock directly."""

    #: Clock seconds per wall-clock second (1 for real time; a simulation runs faster): what a
    #: wait on the wall clock must be divided by to last a given clock duration.
    rate: float

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class StrategyRepository(Protocol):
    """Strategies and their audit events. Changes become durable only when the unit of work
    that owns this repository commits."""

    def add(self, strategy: Strategy) -> None:
        """Store a new strategy and its pending events. Raises DuplicateStrategy when a strategy
        with the same ``code_hash`` exists (whatever its status)."""
        ...

    def get(self, strategy_id: uuid.UUID) -> Strategy:
        """The strategy with this id; NotFound otherwise."""
        ...

    def save(self, strategy: Strategy) -> None:
        """Persist the changes of a loaded strategy, appending its new events."""
        ...

    def by_status(self, status: Status) -> list[Strategy]:
        """Every strategy in ``status``, oldest created first."""
        ...

    def count(self, status: Status) -> int:
        """How many strategies are in ``status``."""
        ...

    def standings(self, status: Status = Status.ACTIVE) -> list[Standing]:
        """The leaderboard view (id, score, last backtest) of every strategy in ``status``."""
        ...

    def events(self, strategy_id: uuid.UUID) -> list[StatusChange]:
        """The recorded status changes of a strategy, in order."""
        ...

    def reached(self, status: Status) -> int:
        """How many strategies ever moved to ``status`` (by their committed events)."""
        ...

    def recent_events(self, limit: int | None) -> list[tuple[str, StatusChange]]:
        """The ``limit`` latest committed status changes of any strategy (None: all), newest
        first, each with the strategy's name."""
        ...

    def live_events(self, since: datetime) -> list[tuple[str, StatusChange]]:
        """The committed status changes into or out of LIVE after ``since``, oldest first, each
        with the strategy's name."""
        ...

    def search(self, wanted: StrategyFilter) -> list[Strategy]:
        """The strategies ``wanted`` selects, best backtest score first (none last), then the
        oldest; at most ``wanted.limit``."""
        ...

    def named(self, name: str) -> Strategy | None:
        """The strategy called ``name`` (names are unique), None if there is none."""
        ...


@attrs.frozen
class StrategyFilter:
    """Which strategies a listing shows; an empty set accepts any value."""

    statuses: frozenset[Status] = frozenset()
    types: frozenset[str] = frozenset()
    timeframes: frozenset[Timeframe] = frozenset()
    #: Retirement reason codes.
    reasons: frozenset[Code] = frozenset()
    limit: int | None = None

    def matches(self, strategy: Strategy) -> bool:
        """True when ``strategy`` passes every condition."""
        reason = strategy.retired_reason
        return (
            (not self.statuses or strategy.status in self.statuses)
            and (not self.types or strategy.strategy_type in self.types)
            and (not self.timeframes or strategy.timeframe in self.timeframes)
            and (not self.reasons or (reason is not None and reason.code in self.reasons))
        )


class ClaimRepository(Protocol):
    """The work queue: which worker holds which strategy, and which wait after our failures.

    A worker claims strategies for ``lease`` time; a claimed strategy is invisible to other
    claimers until its claim is released or its lease expires (the worker died), after which the
    next claimer takes it over. No strategy is held by two live claims at once. Claimed strategies
    are loaded into the unit of work's :class:`StrategyRepository`.
    """

    def claim(
        self, status: Status, limit: int, owner: str, now: datetime, lease: timedelta
    ) -> list[Strategy]:
        """Atomically claim up to ``limit`` unclaimed (or lease-expired) strategies in ``status``,
        oldest created first, for ``owner`` until ``now + lease``."""
        ...

    def claim_due_for_retest(
        self, cutoff: datetime, limit: int, owner: str, now: datetime, lease: timedelta
    ) -> list[Strategy]:
        """Like :meth:`claim` for ACTIVE strategies last backtested at or before ``cutoff`` (or
        never), oldest ``last_backtested_at`` first, then smaller id. Strategies without a score
        (migrated from the original system) are due at once and come first."""
        ...

    def release(self, strategy_id: uuid.UUID, owner: str) -> None:
        """Drop ``owner``'s claim on the strategy after its work is done, clearing any record of
        earlier failures (no effect if it holds none)."""
        ...

    def renew(
        self, strategy_ids: Iterable[uuid.UUID], owner: str, now: datetime, lease: timedelta
    ) -> set[uuid.UUID]:
        """Extend ``owner``'s claims on these strategies to ``now + lease`` (the heartbeat of a
        live worker); returns the ids it still held and renewed."""
        ...

    def failure(self, strategy_id: uuid.UUID) -> WorkFailure | None:
        """The record of failures in a row of our machinery on this strategy, None if none."""
        ...

    def defer(self, strategy_id: uuid.UUID, owner: str, failure: WorkFailure) -> None:
        """Drop ``owner``'s claim after work on the strategy failed for a reason that is not its
        own: record ``failure``; no claim takes the strategy before ``failure.retry_after``. Its
        status is unchanged (no effect if ``owner`` holds no claim)."""
        ...

    def deferred(self) -> list[tuple[Strategy, WorkFailure]]:
        """Every strategy with a failure record, oldest failure first."""
        ...

    def held(self, now: datetime) -> list[HeldClaim]:
        """Every claim whose lease runs past ``now``, soonest to expire first."""
        ...


@attrs.frozen
class HeldClaim:
    """A strategy a worker holds: its name and status, the worker and the end of the lease."""

    name: str
    status: Status
    owner: str
    expires_at: datetime


class BacktestRepository(Protocol):
    """The audit record of every backtest run."""

    def add(self, result: BacktestResult) -> None:
        """Store one run's result."""
        ...

    def for_strategy(self, strategy_id: uuid.UUID) -> list[BacktestResult]:
        """Every run of a strategy, oldest first."""
        ...


class SubaccountRepository(Protocol):
    """The exchange subaccounts, one per LIVE strategy."""

    def add(self, subaccount: Subaccount) -> None:
        """Store a new subaccount (DuplicateRecord if its id exists)."""
        ...

    def get(self, subaccount_id: int) -> Subaccount:
        """The subaccount with this id; NotFound otherwise."""
        ...

    def save(self, subaccount: Subaccount) -> None:
        """Persist a subaccount's changes."""
        ...

    def all(self) -> list[Subaccount]:
        """Every subaccount, by id."""
        ...


class OrderRepository(Protocol):
    """Orders, each recorded with its client id before it is sent."""

    def add(self, order: Order) -> None:
        """Store a new order (DuplicateRecord if its client id exists)."""
        ...

    def get(self, client_order_id: str) -> Order:
        """The order with this client id; NotFound otherwise."""
        ...

    def save(self, order: Order) -> None:
        """Persist an order's new status."""
        ...

    def unsettled(self, subaccount: int) -> list[Order]:
        """The subaccount's orders still PENDING or OPEN, oldest first."""
        ...

    def find(self, client_order_id: str) -> Order | None:
        """The order with this client id, or None (an exchange-made order has none)."""
        ...


class FillRepository(Protocol):
    """The executions reported by the exchange, per subaccount and sequence number."""

    def add(self, fill: Fill) -> None:
        """Record one execution (DuplicateRecord if its subaccount and sequence exist)."""
        ...

    def last_sequence(self, subaccount: int) -> int:
        """The sequence number of the subaccount's last recorded fill (0: none)."""
        ...

    def after(self, subaccount: int, sequence: int) -> list[Fill]:
        """The subaccount's recorded fills with a sequence number above ``sequence``, in order."""
        ...

    def for_order(self, client_order_id: str) -> list[Fill]:
        """The order's fills, in the order they happened."""
        ...


class TradeRepository(Protocol):
    """The live trades of every strategy."""

    def add(self, trade: Trade) -> None:
        """Store a new (open) trade."""
        ...

    def save(self, trade: Trade) -> None:
        """Persist a trade's exit."""
        ...

    def for_strategy(self, strategy_id: uuid.UUID) -> list[Trade]:
        """A strategy's trades, by entry time."""
        ...

    def open_for(self, strategy_id: uuid.UUID) -> list[Trade]:
        """A strategy's trades not closed yet, by entry time."""
        ...

    def count(self) -> int:
        """How many trades every strategy made (open and closed)."""
        ...


class HeartbeatRepository(Protocol):
    """The services' heartbeats, one row per process."""

    def record(self, heartbeat: Heartbeat) -> None:
        """Store ``heartbeat``, replacing the row of its service and owner."""
        ...

    def all(self) -> list[Heartbeat]:
        """Every process's latest heartbeat, by service then owner."""
        ...


class HaltRepository(Protocol):
    """The kill switch's halts, active and lifted."""

    def add(self, halt: Halt) -> None:
        """Store a new halt and give it its id."""
        ...

    def save(self, halt: Halt) -> None:
        """Persist a halt's flatten or lifting."""
        ...

    def active(self) -> list[Halt]:
        """The halts not lifted, oldest first."""
        ...

    def latest(self, limit: int) -> list[Halt]:
        """The ``limit`` most recent halts, newest first."""
        ...


class IssueRepository(Protocol):
    """Reconciliation's mismatches between the exchange and our records."""

    def add(self, issue: Issue) -> None:
        """Store a new issue and give it its id."""
        ...

    def save(self, issue: Issue) -> None:
        """Persist an issue's resolution."""
        ...

    def unresolved(self, subaccount: int | None = None) -> list[Issue]:
        """The issues not resolved (of one subaccount, or of all), oldest first."""
        ...


class PortfolioRepository(Protocol):
    """The portfolio's value, one record per UTC day."""

    def latest(self) -> PortfolioDay | None:
        """The most recent day, or None before the first."""
        ...

    def save(self, day: PortfolioDay) -> None:
        """Store the day's record (created or updated)."""
        ...


class UnitOfWork(Protocol):
    """One atomic piece of work: ``with uow: ...; uow.commit()``.

    Leaving the block without :meth:`commit` rolls everything back. One service tick is one unit of
    work.
    """

    strategies: StrategyRepository
    claims: ClaimRepository
    backtests: BacktestRepository
    subaccounts: SubaccountRepository
    orders: OrderRepository
    fills: FillRepository
    trades: TradeRepository
    heartbeats: HeartbeatRepository
    halts: HaltRepository
    issues: IssueRepository
    portfolio: PortfolioRepository

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Make every change of this unit of work durable at once."""
        ...

    def rollback(self) -> None:
        """Discard every change since the last commit."""
        ...

    def lock_pool(self) -> None:
        """Serialise changes to the ACTIVE pool: block until no other unit of work holds the pool
        lock; hold it until this unit of work commits or rolls back."""
        ...


class MarketData(Protocol):
    """Closed candles for the pipeline's coins; a still-forming candle is never returned."""

    def symbols(self) -> list[str]:
        """The coins this source serves, in a stable order."""
        ...

    def candles(self, symbol: str, timeframe: Timeframe, start: datetime, end: datetime) -> Candles:
        """Closed bars of ``symbol`` whose open time is in ``[start, end)`` and that have closed
        by ``end`` (open time + bar length <= end): never a bar still forming at ``end``.

        Raises MarketDataUnavailable for an unknown symbol."""
        ...


class SignalSource(Protocol):
    """Runs a strategy's code on candles and returns its signals, one per bar: +1 long, -1 short,
    0 flat (int8). Strategy code is untrusted: implementations isolate it.

    ``fresh=True`` asks for a process (or other state) that has served no earlier request, so that
    code cannot carry what it saw in one request into the next (the validator compares requests);
    an implementation that keeps no state between requests may ignore it."""

    def signals(self, code: str, candles: Candles, *, fresh: bool = False) -> np.ndarray: ...


@attrs.frozen
class Market:
    """One coin's candles with the signals of one strategy on them (same length)."""

    candles: Candles
    signals: np.ndarray


class BacktestEngine(Protocol):
    """Simulates signals under execution parameters (spec section 4, simulation rules)."""

    def run(
        self, markets: Sequence[Market], parameters: ExecutionParameters, costs: Costs
    ) -> SimulationRun:
        """One combination on the equally weighted portfolio of ``markets``, with its trades and
        equity curve (the same metrics as :meth:`sweep` gives for it)."""
        ...

    def sweep(
        self,
        markets: Sequence[Market],
        combinations: Sequence[ExecutionParameters],
        costs: Costs,
    ) -> list[Metrics]:
        """Metrics of the equally weighted portfolio of ``markets`` for each combination, in the
        order given. Annualisation uses the markets' timeframe (all markets share one)."""
        ...


class Exchange(Protocol):
    """A venue of subaccounts, one per LIVE strategy, in domain terms. Failures of the venue raise
    ExchangeError.

    Orders are market orders, idempotent by ``client_order_id`` (placing an id again does
    nothing); an id's last byte says why an order closes a position
    (:func:`~sixbtc.domain.orders.client_order_id`) and fills carry it back. One that opens a
    position carries its :class:`Protection`: the stop and target rest on the venue from the fill
    on (they survive a crash of ours). The maximum holding time ends a position at the close of
    its ``max_hold_bars``-th bar: a simulated venue closes it there, on a real one the executor
    sends that exit. Every execution is reported once by :meth:`fills`, in order. A venue that
    cannot be reached raises ExchangeUnavailable; an order refused for what it is, OrderRejected.
    """

    def main_balance(self) -> float:
        """The main account's cash, in quote currency: what subaccounts can be given."""
        ...

    def transfer(self, subaccount: int, amount: float, transfer_id: str) -> None:
        """Move ``amount`` of quote currency from the main account to the subaccount (negative:
        back); a ``transfer_id`` seen before moves nothing; ExchangeError (nothing moved) when the
        giving side holds less cash."""
        ...

    def equity(self, subaccount: int) -> float:
        """The subaccount's cash plus its positions' value at the last price, in quote currency."""
        ...

    def positions(self, subaccount: int) -> list[Position]:
        """The subaccount's open positions, one net position per symbol."""
        ...

    def open_orders(self, subaccount: int) -> list[OrderRequest]:
        """The subaccount's orders placed and not filled yet."""
        ...

    def place_order(self, order: OrderRequest, protection: Protection | None = None) -> None:
        """Send a market order; one that opens a position needs ``protection``, a reduce-only one
        closes the position (it does nothing once the position is gone)."""
        ...

    def order_known(self, subaccount: int, client_order_id: str) -> bool:
        """Whether the venue received this order (resting, filled, cancelled or refused): an
        order whose placement got no answer is looked up by its id, never sent again blindly."""
        ...

    def keep_alive(self, subaccount: int, seconds: int) -> None:
        """The dead-man switch: the venue cancels the subaccount's open orders ``seconds`` from
        now unless this is called again before (0 turns it off)."""
        ...

    @property
    def connection(self) -> int:
        """Grows by one each time the venue answers again after it could not be reached: every
        subaccount is reconciled again before it trades."""
        ...

    def cancel_order(self, subaccount: int, client_order_id: str) -> None:
        """Cancel an order not filled yet; nothing when it filled or is unknown."""
        ...

    def close_all(self, subaccount: int, request_id: str) -> None:
        """Cancel the subaccount's open orders and close each position at market (their fills
        carry ``ExitReason.END``); ``request_id`` names this request, so a retry closes nothing
        twice."""
        ...

    def fills(self, subaccount: int, after: int = 0) -> list[Fill]:
        """The subaccount's executions with a sequence number above ``after``, in order."""
        ...

    def observe(self, subaccount: int, windows: Sequence[Candles]) -> None:
        """The closed candles of the symbols the subaccount's strategy trades on: a simulated
        venue fills on them (bars seen before are skipped); a real one ignores them."""
        ...


class Notifier(Protocol):
    """Where notifications go (a webhook, a chat). Failures raise NotificationFailed."""

    name: str

    def send(self, notification: Notification) -> None:
        """Deliver one notification."""
        ...


@attrs.frozen
class StrategyOutline:
    """What the strategy class declares, read from its code without running it."""

    class_name: str
    strategy_type: str
    warmup: int
    parameters: dict[str, Any]


class CodeInspector(Protocol):
    """Static checks of strategy code (syntax, safety, lookahead), without running it."""

    def outline(self, code: str) -> StrategyOutline:
        """The declared interface; InvalidStrategyCode (reason ``syntax_error: ...``) when the code
        does not compile or does not define exactly one strategy class with the interface."""
        ...

    def problem(self, code: str) -> Reason | None:
        """The reason of the first failing static check (``syntax_error: ...``, ``unsafe: ...``,
        ``lookahead: ...``), None when all pass."""
        ...


@attrs.frozen
class StrategyDraft:
    """A strategy proposed by a source, before it is stored."""

    name: str
    code: str
    strategy_type: str


class StrategySource(Protocol):
    """Proposes new strategies: the rule-based generator, the genetic breeder of ACTIVE members,
    later perhaps a language-model client."""

    def propose(self, count: int, parents: Sequence[Strategy]) -> list[StrategyDraft]:
        """Up to ``count`` drafts; ``parents`` are ACTIVE strategies a source may breed from (a
        source that does not breed ignores them)."""
        ...
