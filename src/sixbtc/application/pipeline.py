"""One pass of the factory, for the ``sixbtc pipeline`` command and the end-to-end tests.

Maintain the pool, generate strategies, validate every GENERATED one, backtest every VALIDATED one
and every due re-backtest, then report the leaderboard and the funnel. Each step is the same use
case the services run; a pass is what the services would do, in order, on one machine.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

import attrs

from sixbtc.application import pool
from sixbtc.application.backtest_worker import BacktestOutcome, BacktestWorker
from sixbtc.application.errors import ApplicationError
from sixbtc.application.generate import GenerateStrategies
from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.application.validate import ValidateStrategies
from sixbtc.domain.pool import PoolDecision
from sixbtc.domain.reasons import NOT_RECORDED
from sixbtc.domain.retry import WorkFailure
from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.strategy import Standing, Status, Strategy

Progress = Callable[[str], None]
T = TypeVar("T")


@attrs.frozen
class PassReport:
    """What a pass did and where the strategies stand afterwards."""

    generated: int
    validated: int
    retired_by_validator: int
    backtests: list[BacktestOutcome]
    pool_decisions: list[PoolDecision]
    statuses: dict[Status, int]
    retired_reasons: dict[str, int]
    leaderboard: list[Strategy]
    live_candidates: list[Strategy]
    #: Strategies waiting after failures of our machinery (not theirs), with the last error.
    deferred: list[tuple[Strategy, WorkFailure]] = attrs.field(factory=list)
    #: Wall seconds of each step: ``generate``, ``validate``, ``backtest``.
    seconds: dict[str, float] = attrs.field(factory=dict)


@attrs.frozen
class PipelinePass:
    """The use cases of one pass, wired to the same unit of work and clock."""

    unit_of_work: UnitOfWork
    clock: Clock
    rules: pool.PoolRules
    generate: GenerateStrategies
    validate: ValidateStrategies
    backtest: BacktestWorker
    selection: LiveSelection

    def run(
        self,
        strategies: int,
        progress: Progress = lambda message: None,
        stage: Progress = lambda message: None,
    ) -> PassReport:
        """Generate up to ``strategies`` new strategies and take every strategy as far as it goes;
        ``progress`` hears of each result, ``stage`` of what is under way (a live line)."""
        decisions = pool.maintain_now(self.unit_of_work, self.rules, self.clock)
        if decisions:
            progress(f"pool maintenance retired {len(decisions)} strategies")
        started = time.monotonic()
        stage("generating")
        generated = self.generate.run(batch=strategies)
        seconds = {"generate": time.monotonic() - started}
        progress(f"generated {generated} strategies")
        validated = retired = 0
        failures = _Failures(progress)
        while True:
            stage(f"validating ({validated + retired} done)")
            done, outcome = failures.attempt("validator", lambda: self.validate.run(limit=10))
            if not done:
                continue
            if not any(outcome.values()):
                break
            validated += outcome["validated"]
            retired += outcome["retired"]
            progress(f"validator: {validated} validated, {retired} retired")
        seconds["validate"] = time.monotonic() - started - seconds["generate"]
        outcomes = []
        with self.unit_of_work as uow:
            waiting = uow.strategies.count(Status.VALIDATED)
        while True:
            stage(
                f"backtesting strategy {len(outcomes) + 1} ({waiting} were waiting, then the due "
                "re-backtests)"
            )
            done, outcome = failures.attempt("backtester", self.backtest.tick)
            if not done:
                continue
            if outcome is None:
                break
            outcomes.append(outcome)
            progress(describe(outcome, len(outcomes)))
        seconds["backtest"] = time.monotonic() - started - sum(seconds.values())
        return self._report(generated, validated, retired, outcomes, decisions, seconds)

    def _report(self, generated, validated, retired, outcomes, decisions, seconds) -> PassReport:
        with self.unit_of_work as uow:
            statuses = {status: uow.strategies.count(status) for status in Status}
            reasons = Counter(
                str(s.retired_reason.code) if s.retired_reason else NOT_RECORDED
                for s in uow.strategies.by_status(Status.RETIRED)
            )
            active = uow.strategies.by_status(Status.ACTIVE)
            live = uow.strategies.by_status(Status.LIVE)
            deferred = uow.claims.deferred()
        active.sort(key=lambda s: Standing.rank_key(s.standing()), reverse=True)
        return PassReport(
            generated=generated,
            validated=validated,
            retired_by_validator=retired,
            backtests=outcomes,
            pool_decisions=decisions,
            statuses=statuses,
            retired_reasons=dict(reasons.most_common()),
            leaderboard=active,
            live_candidates=self.selection.select(active, live),
            deferred=deferred,
            seconds=seconds,
        )


class _Failures:
    """Failures of our machinery during a pass: each defers one strategy (it waits its back-off)
    and the pass goes on; more than :attr:`LIMIT` in a row (the database is down, say) end it."""

    LIMIT = 3

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.in_a_row = 0

    def attempt(self, step: str, call: Callable[[], T]) -> tuple[bool, T | None]:
        """``(True, call())``, or ``(False, None)`` after a tolerated failure."""
        try:
            result = call()
        except ApplicationError as error:
            self.in_a_row += 1
            if self.in_a_row > self.LIMIT:
                raise
            self.progress(f"{step}: one strategy deferred after a failure of ours ({error})")
            return False, None
        self.in_a_row = 0
        return True, result


def describe(outcome: BacktestOutcome, number: int) -> str:
    """One progress line for a finished backtest."""
    head = f"[{number}] {outcome.kind} {outcome.name}"
    result = outcome.result
    if result is None:
        return f"{head}: {outcome.status} ({outcome.reason})"
    p = result.parameters
    chosen = (
        f"{result.timeframe} sl={p.stop_loss:g} tp={p.take_profit:g} lev={p.leverage:g} "
        f"hold={p.max_hold_bars}"
    )
    verdict = str(outcome.status)
    if outcome.status is Status.RETIRED:
        verdict += f" ({outcome.reason})"
    trades = f"trades {result.training.trades}+{result.holdout.trades}"
    return f"{head}: {chosen} {trades} score {result.score:.2f} -> {verdict}"
