"""Pool use cases: admit a backtested strategy, apply a re-backtest, maintain the pool.

Each function works inside the caller's unit of work: it takes the pool lock, loads the current
members, lets :class:`~sixbtc.domain.pool.ActivePool` decide and applies the decisions to the
strategies. The caller commits, so a decision and its consequences land together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.pool import Action, ActivePool, PoolDecision
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe


@attrs.frozen
class PoolRules:
    """The pool's capacity and entry score (``active_pool`` in the configuration)."""

    max_size: int = 300
    min_score_entry: float = 15.0

    def load(self, uow: UnitOfWork) -> ActivePool:
        """Lock the pool for this unit of work and build it from the stored ACTIVE strategies."""
        uow.lock_pool()
        return self.view(uow)

    def view(self, uow: UnitOfWork) -> ActivePool:
        """The pool as stored, without its lock: for questions, never for decisions."""
        return ActivePool(self.max_size, self.min_score_entry, uow.strategies.standings())


def _apply(
    uow: UnitOfWork,
    decisions: list[PoolDecision],
    at: datetime,
    service: str,
    evidence: str = "",
    **known: Strategy,
) -> None:
    """Carry out ``decisions``; an admission's reason also records ``evidence`` (the research
    gates' figures)."""
    by_id = {s.id: s for s in known.values()}
    for decision in decisions:
        strategy = by_id.get(decision.strategy_id) or uow.strategies.get(decision.strategy_id)
        if decision.action is Action.RETIRE:
            strategy.retire(decision.reason, at=at, service=service)
        elif decision.action is Action.ADMIT:
            figures = f"score {strategy.score_backtest:.2f}" + (f"; {evidence}" if evidence else "")
            reason = Reason(Code.ADMITTED, figures)
            strategy.move_to(Status.ACTIVE, reason=reason, at=at, service=service)
        else:
            reason = Reason(Code.RETEST, f"score {strategy.score_backtest:.2f}")
            strategy.move_to(Status.ACTIVE, reason=reason, at=at, service=service)
        uow.strategies.save(strategy)


def admit(
    uow: UnitOfWork,
    rules: PoolRules,
    strategy: Strategy,
    score: float,
    *,
    at: datetime,
    timeframe: Timeframe,
    execution: ExecutionParameters,
    coins: Sequence[str] | None = None,
    service: str = "backtester",
    evidence: str = "",
) -> list[PoolDecision]:
    """Record a VALIDATED strategy's initial backtest and let the pool admit or retire it (an
    admission records ``evidence``, the gates' figures)."""
    pool = rules.load(uow)
    strategy.record_backtest(score, at=at, timeframe=timeframe, execution=execution, coins=coins)
    decisions = pool.admit(strategy.standing())
    _apply(uow, decisions, at, service, evidence, candidate=strategy)
    return decisions


def rescore(
    uow: UnitOfWork,
    rules: PoolRules,
    strategy: Strategy,
    score: float,
    *,
    at: datetime,
    service: str = "backtester",
) -> PoolDecision:
    """Record an ACTIVE strategy's re-backtest: it keeps its place with the new score or retires."""
    pool = rules.load(uow)
    strategy.record_backtest(score, at=at)
    decision = pool.rescore(strategy.standing())
    _apply(uow, [decision], at, service, member=strategy)
    return decision


def maintain(
    uow: UnitOfWork, rules: PoolRules, *, at: datetime, service: str = "backtester"
) -> list[PoolDecision]:
    """Retire members below the entry score and trim the pool to its size (``pool_trim``)."""
    pool = rules.load(uow)
    decisions = pool.maintain()
    _apply(uow, decisions, at, service)
    return decisions


def maintain_now(unit_of_work: UnitOfWork, rules: PoolRules, clock: Clock) -> list[PoolDecision]:
    """:func:`maintain` in a unit of work of its own, committed; returns its decisions."""
    with unit_of_work as uow:
        decisions = maintain(uow, rules, at=clock.now())
        uow.commit()
    return decisions
