"""The Strategy entity, its statuses, the one transition table and the audit events."""

from __future__ import annotations

import enum
import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import attrs

from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.errors import IllegalTransition
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.timeframe import Timeframe


class Status(enum.StrEnum):
    """The only five statuses a strategy can have."""

    GENERATED = "GENERATED"
    VALIDATED = "VALIDATED"
    ACTIVE = "ACTIVE"
    LIVE = "LIVE"
    RETIRED = "RETIRED"


#: Every legal move; anything absent is an IllegalTransition. ACTIVE -> ACTIVE is the re-backtest
#: that keeps a strategy in the pool with a new score. Who makes each move (validator, backtester,
#: rotator, monitor, or an operator retiring by hand) is recorded on the event, not restricted.
TRANSITIONS: frozenset[tuple[Status, Status]] = frozenset(
    {
        (Status.GENERATED, Status.VALIDATED),
        (Status.GENERATED, Status.RETIRED),
        (Status.VALIDATED, Status.ACTIVE),
        (Status.VALIDATED, Status.RETIRED),
        (Status.ACTIVE, Status.ACTIVE),
        (Status.ACTIVE, Status.RETIRED),
        (Status.ACTIVE, Status.LIVE),
        (Status.LIVE, Status.RETIRED),
    }
)


def code_hash(code: str) -> str:
    """SHA-256 of the code with line endings, trailing spaces and blank lines normalised."""
    lines = [line.rstrip() for line in code.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    normalised = "\n".join(line for line in lines if line)
    return hashlib.sha256(normalised.encode()).hexdigest()


@attrs.frozen
class StatusChange:
    """One recorded transition: the audit trail row of a strategy's history."""

    strategy_id: uuid.UUID
    from_status: Status
    to_status: Status
    reason: Reason = attrs.field(converter=Reason.parse)
    at: datetime
    service: str


def _strategy_type(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if not value or not value.isalnum() or not value.isupper():
        raise ValueError(f"{attribute.name}: {value!r} is not an upper-case type code like MOM")


@attrs.define(slots=False, eq=False)
class Strategy:
    """A trading strategy and its place in the pipeline.

    Identity is the ``id``. Status changes only through :meth:`move_to` (or the helpers built on
    it), which checks :data:`TRANSITIONS` and appends a :class:`StatusChange` to ``events``;
    repositories persist those events with the row, in the same unit of work.
    """

    name: str
    code: str
    strategy_type: str = attrs.field(validator=_strategy_type)
    created_at: datetime
    id: uuid.UUID = attrs.field(factory=uuid.uuid4)
    status: Status = Status.GENERATED
    timeframe: Timeframe | None = None
    #: How its signals are traded (chosen by the initial backtest); None before it.
    execution: ExecutionParameters | None = None
    #: The coins of the initial backtest, in its order; the re-backtests run on the same ones.
    coins: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    score_backtest: float | None = None
    score_live: float | None = None
    last_backtested_at: datetime | None = None
    live_since: datetime | None = None
    retired_reason: Reason | None = attrs.field(
        default=None, converter=attrs.converters.optional(Reason.parse)
    )
    retired_at: datetime | None = None
    code_hash: str = attrs.field()
    events: list[StatusChange] = attrs.field(factory=list)

    @code_hash.default
    def _default_code_hash(self) -> str:
        return code_hash(self.code)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Strategy) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    def move_to(
        self, target: Status, *, reason: Reason | str, at: datetime, service: str
    ) -> StatusChange:
        """Move to ``target`` if the table allows it, record and return the event. ``reason``: a
        :class:`Reason` (text is parsed as stored text is).

        Raises IllegalTransition (naming both statuses) for any move not in :data:`TRANSITIONS`.
        """
        if (self.status, target) not in TRANSITIONS:
            raise IllegalTransition(
                f"strategy {self.id}: {self.status} -> {target} is not an allowed transition"
            )
        if not reason:
            raise ValueError("reason: a status change needs a non-empty reason")
        event = StatusChange(self.id, self.status, target, reason, at, service)
        self.status = target
        if target is Status.RETIRED:
            self.retired_reason = event.reason
            self.retired_at = at
        elif target is Status.LIVE:
            self.live_since = at
        self.events.append(event)
        return event

    def validate(self, *, at: datetime) -> StatusChange:
        """GENERATED -> VALIDATED: every validator check passed."""
        return self.move_to(
            Status.VALIDATED, reason=Reason(Code.VALIDATED), at=at, service="validator"
        )

    def retire(self, reason: Reason | str, *, at: datetime, service: str) -> StatusChange:
        """Any status that allows it -> RETIRED, keeping the row and recording why."""
        return self.move_to(Status.RETIRED, reason=reason, at=at, service=service)

    def record_backtest(
        self,
        score: float,
        *,
        at: datetime,
        timeframe: Timeframe | None = None,
        execution: ExecutionParameters | None = None,
        coins: Sequence[str] | None = None,
    ) -> None:
        """Store a (re-)backtest result: the score, its time and, initially, what was chosen and
        the coins it ran on."""
        if self.status not in (Status.VALIDATED, Status.ACTIVE):
            raise IllegalTransition(
                f"strategy {self.id}: cannot record a backtest while {self.status}"
            )
        self.score_backtest = score
        self.last_backtested_at = at
        if timeframe is not None:
            self.timeframe = timeframe
        if execution is not None:
            self.execution = execution
        if coins is not None:
            self.coins = tuple(coins)

    def standing(self) -> Standing:
        """This strategy's place on the leaderboard (score and tie-break keys)."""
        return Standing(self.id, self.score_backtest, self.last_backtested_at)


@attrs.frozen(order=False)
class Standing:
    """What the ACTIVE pool knows of a strategy: its id, score and last backtest time.

    :meth:`rank_key` orders standings from worst to best: lower score is worse; on equal scores the
    older ``last_backtested_at`` (never backtested is oldest), then the smaller id, is worse.
    """

    strategy_id: uuid.UUID
    score: float | None
    last_backtested_at: datetime | None

    def rank_key(self) -> tuple[float, float, int]:
        score = float("-inf") if self.score is None else self.score
        when = (
            float("-inf")
            if self.last_backtested_at is None
            else self.last_backtested_at.timestamp()
        )
        return (score, when, self.strategy_id.int)
