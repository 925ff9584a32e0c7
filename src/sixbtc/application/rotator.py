"""The rotator (spec section 5): free LIVE slots are filled with the best ACTIVE strategies the
:class:`~sixbtc.domain.selection.LiveSelection` picks, each on a free subaccount of its own with an
even share of the capital.

A deployment funds the subaccount first (a transfer with an id made of strategy and subaccount, so
a retry moves nothing twice), then, under the pool lock, checks again that the strategy is still
ACTIVE, the subaccount still free and a slot still open, assigns the subaccount and moves the
strategy ACTIVE -> LIVE in one commit. A transfer the exchange refuses leaves the strategy ACTIVE
and the subaccount free; a deployment another rotator won meanwhile gives the money back. Two
rotators at once therefore never overfill LIVE nor deploy one strategy twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import attrs

from sixbtc.application.errors import ExchangeError
from sixbtc.application.ports import Clock, Exchange, UnitOfWork
from sixbtc.domain.orders import client_order_id as derived_id
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.strategy import Status
from sixbtc.domain.subaccount import Subaccount

log = logging.getLogger(__name__)
SERVICE = "rotator"


@attrs.frozen
class Deployment:
    """A strategy that went LIVE: its subaccount and capital."""

    strategy_id: uuid.UUID
    name: str
    subaccount: int
    capital: float


@attrs.frozen
class Rotator:
    """Deploys the selection's strategies to free subaccounts (ids 1 .. ``max_live``)."""

    unit_of_work: Callable[[], UnitOfWork]
    exchange: Exchange
    clock: Clock
    selection: LiveSelection

    def run(self) -> list[Deployment]:
        """One check: deploy what the free slots allow; returns the deployments made."""
        with self.unit_of_work() as uow:
            live = uow.strategies.by_status(Status.LIVE)
            chosen = self.selection.select(uow.strategies.by_status(Status.ACTIVE), live)
            used = {a.id for a in uow.subaccounts.all() if not a.is_free}
        if not chosen:
            return []
        free = [n for n in range(1, self.selection.max_live + 1) if n not in used]
        share = self.exchange.main_balance() / max(1, self.selection.free_slots(len(live)))
        deployed = []
        for strategy, subaccount in zip(chosen, free, strict=False):
            try:
                done = self._deploy(strategy.id, subaccount, share)
            except ExchangeError as error:
                log.warning(
                    "strategy %s not deployed to subaccount %d: %s; it stays ACTIVE",
                    strategy.name,
                    subaccount,
                    error,
                )
                continue
            if done is not None:
                deployed.append(done)
        return deployed

    def _deploy(self, strategy_id: uuid.UUID, subaccount: int, share: float) -> Deployment | None:
        top_up = share - self.exchange.equity(subaccount)
        if top_up > 0:
            self.exchange.transfer(subaccount, top_up, derived_id(strategy_id, subaccount, "fund"))
        with self.unit_of_work() as uow:
            uow.lock_pool()
            strategy = uow.strategies.get(strategy_id)
            account = next((a for a in uow.subaccounts.all() if a.id == subaccount), None)
            room = uow.strategies.count(Status.LIVE) < self.selection.max_live
            if strategy.status is Status.ACTIVE and room and (account is None or account.is_free):
                now = self.clock.now()
                if account is None:
                    account = Subaccount(subaccount, now)
                    uow.subaccounts.add(account)
                account.assign(strategy.id, share)
                uow.subaccounts.save(account)
                figures = f"subaccount {subaccount}, capital {share:.2f}, score "
                figures += f"{strategy.score_backtest:.2f}"
                strategy.move_to(
                    Status.LIVE, reason=Reason(Code.DEPLOYED, figures), at=now, service=SERVICE
                )
                uow.strategies.save(strategy)
                uow.commit()
                log.info("strategy %s deployed: %s", strategy.name, figures)
                return Deployment(strategy.id, strategy.name, subaccount, share)
        if top_up > 0:  # another rotator deployed it, or took the slot: the money goes back
            self.exchange.transfer(
                subaccount, -top_up, derived_id(strategy_id, subaccount, "refund")
            )
        return None
