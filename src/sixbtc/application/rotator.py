"""The rotator (spec section 5): free LIVE slots are filled with the best ACTIVE strategies the
:class:`~sixbtc.domain.selection.LiveSelection` picks, each on a free subaccount of its own with an
even share of the capital.

A deployment takes three steps, each safe to repeat:

1. under the pool lock, check again that the strategy is still ACTIVE and that the selection
   still takes it (slots, types, timeframes counted with LIVE), and reserve a free subaccount for
   it (assigned, the strategy still ACTIVE; the executor leaves such a subaccount alone);
2. fund the subaccount up to the share (a transfer with an id made of strategy and subaccount,
   so a retry moves nothing twice);
3. under the pool lock, move the strategy ACTIVE -> LIVE if the reservation still holds.

A transfer the exchange refuses frees the reservation (the strategy stays ACTIVE); a deployment
interrupted by a crash is completed by the next check. Two rotators at once never overfill LIVE,
break the diversification limits nor deploy one strategy twice: each reservation is decided under
the lock against the LIVE and reserved strategies.
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
from sixbtc.domain.strategy import Status, Strategy
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
        """One check: complete interrupted deployments, then deploy what the free slots allow;
        returns the deployments made."""
        with self.unit_of_work() as uow:
            interrupted = [(s.id, a.id) for s, a in self._reserved(uow)]
        deployed = [d for sid, n in interrupted if (d := self._complete(sid, n)) is not None]
        with self.unit_of_work() as uow:
            committed = uow.strategies.by_status(Status.LIVE)
            reserved = self._reserved(uow)
            taken = {s.id for s, _ in reserved}
            candidates = [s for s in uow.strategies.by_status(Status.ACTIVE) if s.id not in taken]
            chosen = self.selection.select(candidates, committed + [s for s, _ in reserved])
        open_slots = self.selection.free_slots(len(committed) + len(reserved))
        share = self.exchange.main_balance() / max(1, open_slots)
        for strategy in chosen:
            subaccount = self._reserve(strategy.id, share)
            if subaccount is not None:
                done = self._complete(strategy.id, subaccount)
                if done is not None:
                    deployed.append(done)
        return deployed

    @staticmethod
    def _reserved(uow: UnitOfWork) -> list[tuple[Strategy, Subaccount]]:
        """Subaccounts reserved for strategies still ACTIVE (a deployment under way)."""
        found = []
        for account in uow.subaccounts.all():
            if account.strategy_id is not None:
                strategy = uow.strategies.get(account.strategy_id)
                if strategy.status is Status.ACTIVE:
                    found.append((strategy, account))
        return found

    def _reserve(self, strategy_id: uuid.UUID, share: float) -> int | None:
        """Step 1: the subaccount reserved for the strategy, or None when it no longer fits."""
        with self.unit_of_work() as uow:
            uow.lock_pool()
            strategy = uow.strategies.get(strategy_id)
            accounts = {a.id: a for a in uow.subaccounts.all()}
            if any(a.strategy_id == strategy_id for a in accounts.values()):
                return None  # another rotator reserved it
            live = uow.strategies.by_status(Status.LIVE) + [s for s, _ in self._reserved(uow)]
            if self.selection.select([strategy], live) != [strategy]:
                return None
            number = next(
                (
                    n
                    for n in range(1, self.selection.max_live + 1)
                    if n not in accounts or accounts[n].is_free
                ),
                None,
            )
            if number is None:
                return None  # subaccounts still winding down: the next check
            account = accounts.get(number)
            if account is None:
                account = Subaccount(number, self.clock.now())
                uow.subaccounts.add(account)
            account.assign(strategy.id, share)
            uow.subaccounts.save(account)
            uow.commit()
        return number

    def _complete(self, strategy_id: uuid.UUID, subaccount: int) -> Deployment | None:
        """Steps 2 and 3: fund the reserved subaccount, then ACTIVE -> LIVE."""
        with self.unit_of_work() as uow:
            share = uow.subaccounts.get(subaccount).allocated_capital
            name = uow.strategies.get(strategy_id).name
        top_up = share - self.exchange.equity(subaccount)
        try:
            if top_up > 0:
                fund = derived_id(strategy_id, subaccount, "fund")
                self.exchange.transfer(subaccount, top_up, fund)
        except ExchangeError as error:
            log.warning(
                "strategy %s not deployed to subaccount %d: %s; it stays ACTIVE",
                name,
                subaccount,
                error,
            )
            self._release(strategy_id, subaccount)
            return None
        with self.unit_of_work() as uow:
            uow.lock_pool()
            strategy = uow.strategies.get(strategy_id)
            account = uow.subaccounts.get(subaccount)
            if strategy.status is not Status.ACTIVE or account.strategy_id != strategy_id:
                return None  # retired meanwhile: the executor winds the subaccount down
            figures = f"subaccount {subaccount}, capital {share:.2f}, score "
            figures += f"{strategy.score_backtest:.2f}"
            strategy.move_to(
                Status.LIVE,
                reason=Reason(Code.DEPLOYED, figures),
                at=self.clock.now(),
                service=SERVICE,
            )
            uow.strategies.save(strategy)
            uow.commit()
        log.info("strategy %s deployed: %s", name, figures)
        return Deployment(strategy_id, name, subaccount, share)

    def _release(self, strategy_id: uuid.UUID, subaccount: int) -> None:
        with self.unit_of_work() as uow:
            account = uow.subaccounts.get(subaccount)
            if account.strategy_id == strategy_id:
                account.release()
                uow.subaccounts.save(account)
                uow.commit()
