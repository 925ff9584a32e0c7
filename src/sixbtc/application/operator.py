"""An operator retires a strategy by hand (``sixbtc web``): a LIVE or ACTIVE strategy moves to
RETIRED with the reason ``operator: <why> (by <who>)``. A LIVE one's subaccount is then wound
down by the executor as for any retirement (positions closed, cash back, subaccount freed)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs

from sixbtc.application.errors import ApplicationError
from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.application.strategy_report import find
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.strategy import Status, StatusChange

log = logging.getLogger(__name__)

#: The statuses an operator may retire from.
RETIRABLE = (Status.LIVE, Status.ACTIVE)
#: Who made the move, on the event (the reason names the person).
SERVICE = "operator"


class NotRetirable(ApplicationError):
    """The strategy is in a status an operator does not retire from."""


@attrs.frozen
class RetireByHand:
    """Retires one strategy by an operator's decision, recording who and why."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock

    def __call__(self, key: str, why: str, by: str) -> StatusChange:
        """Retire the strategy whose id or name is ``key``; ``why`` is required. NotFound when
        there is none, NotRetirable unless it is LIVE or ACTIVE."""
        why = " ".join(why.split())
        if not why:
            raise ApplicationError("a retirement by hand needs a reason (why)")
        with self.unit_of_work() as uow:
            strategy = find(uow, key)
            if strategy.status not in RETIRABLE:
                raise NotRetirable(
                    f"{strategy.name} is {strategy.status}; only LIVE or ACTIVE strategies are "
                    "retired by hand"
                )
            reason = Reason(Code.OPERATOR, f"{why} (by {by})")
            event = strategy.retire(reason, at=self.clock.now(), service=SERVICE)
            uow.strategies.save(strategy)
            uow.commit()
        log.info("strategy %s (%s) retired by %s: %s", strategy.name, event.from_status, by, why)
        return event
