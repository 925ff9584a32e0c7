"""The kill switch: halts recorded in the database and obeyed by every executor.

A halt stops new entries on every subaccount (exits, stops and targets still run); a flatten
also cancels every order and closes every position, then stays as a halt. Each halt keeps its
cause, who or what set it, when, and how it is lifted: by the operator (``sixbtc resume``) or on
its own once its condition is gone (the next UTC day for a daily loss, fresh candles for stale
data).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

import attrs


class HaltKind(enum.StrEnum):
    """What a halt stops: new entries, or everything (orders cancelled, positions closed)."""

    HALT = "halt"
    FLATTEN = "flatten"


class HaltCause(enum.StrEnum):
    """Why trading halted; the values are the stored labels."""

    OPERATOR = "operator"
    DRAWDOWN = "drawdown"
    DAILY_LOSS = "daily_loss"
    STALE_DATA = "stale_data"


class Lifting(enum.StrEnum):
    """How a halt is lifted."""

    #: Only ``sixbtc resume``.
    OPERATOR = "operator"
    #: On its own at 00:00 UTC of the next day, or by ``sixbtc resume``.
    NEXT_DAY = "next_day"
    #: On its own once every traded coin's candles are fresh again, or by ``sixbtc resume``.
    FRESH_DATA = "fresh_data"


#: How each cause is lifted.
LIFTING = {
    HaltCause.OPERATOR: Lifting.OPERATOR,
    HaltCause.DRAWDOWN: Lifting.OPERATOR,
    HaltCause.DAILY_LOSS: Lifting.NEXT_DAY,
    HaltCause.STALE_DATA: Lifting.FRESH_DATA,
}


@attrs.define
class Halt:
    """One halt, from the moment it is set until it is lifted; ``id`` is given when stored."""

    kind: HaltKind = attrs.field(converter=HaltKind)
    cause: HaltCause = attrs.field(converter=HaltCause)
    detail: str
    set_by: str
    set_at: datetime
    id: int | None = None
    #: When every subaccount was found flat after a flatten.
    flattened_at: datetime | None = None
    lifted_at: datetime | None = None
    lifted_by: str | None = None

    @property
    def lifting(self) -> Lifting:
        return LIFTING[self.cause]

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None

    @property
    def flattening(self) -> bool:
        """A flatten whose closing is not done yet."""
        return self.is_active and self.kind is HaltKind.FLATTEN and self.flattened_at is None

    def flattened(self, at: datetime) -> None:
        """Every subaccount is flat: the flatten stays on as a halt."""
        if self.flattening:
            self.flattened_at = at

    def lift(self, at: datetime, by: str) -> None:
        """End the halt (``by``: who or what lifted it)."""
        if not self.is_active:
            raise ValueError(
                f"halt {self.id}: already lifted at {self.lifted_at} by {self.lifted_by}"
            )
        self.lifted_at, self.lifted_by = at, by

    def describe(self) -> str:
        """One line for people: kind, cause, detail, who and when, how it is lifted."""
        return (
            f"{self.kind} ({self.cause}: {self.detail}) set by {self.set_by} at "
            f"{self.set_at.isoformat(timespec='seconds')}; lifted {_HOW[self.lifting]}"
        )


_HOW = {
    Lifting.OPERATOR: "by `sixbtc resume`",
    Lifting.NEXT_DAY: "at 00:00 UTC or by `sixbtc resume`",
    Lifting.FRESH_DATA: "when candles are fresh again or by `sixbtc resume`",
}


@attrs.frozen
class KillSwitch:
    """What the active halts allow."""

    halts: tuple[Halt, ...]

    @classmethod
    def of(cls, halts: Iterable[Halt]) -> KillSwitch:
        return cls(tuple(h for h in halts if h.is_active))

    @property
    def entries_allowed(self) -> bool:
        return not self.halts

    @property
    def flattening(self) -> tuple[Halt, ...]:
        """The flattens still closing positions."""
        return tuple(h for h in self.halts if h.flattening)

    def active(self, cause: HaltCause) -> Halt | None:
        return next((h for h in self.halts if h.cause is cause), None)
