"""One strategy's whole record, and listings of strategies (``sixbtc strategy list/show``): read
models built from the repositories, never used for decisions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import attrs

from sixbtc.application.errors import InvalidStrategyCode, NotFound
from sixbtc.application.ports import Clock, CodeInspector, StrategyFilter, UnitOfWork
from sixbtc.domain.backtest import BacktestResult
from sixbtc.domain.live import live_metrics
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.strategy import Status, StatusChange, Strategy
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.trade import Trade


@attrs.frozen
class StrategyReport:
    """A strategy with its declared parameters (None when its code declares none we can read),
    its status history, every backtest, its subaccount while it holds one, its live trades, and
    its live metrics while it trades on a subaccount (None otherwise)."""

    strategy: Strategy
    parameters: dict[str, Any] | None
    events: list[StatusChange]
    backtests: list[BacktestResult]
    subaccount: Subaccount | None
    trades: list[Trade]
    live: Metrics | None


@attrs.frozen
class StrategyReports:
    """Finds strategies by id or name, lists them, and reports on one."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    inspector: CodeInspector

    def listing(self, wanted: StrategyFilter) -> list[Strategy]:
        """The strategies ``wanted`` selects, best score first."""
        with self.unit_of_work() as uow:
            return uow.strategies.search(wanted)

    def report(self, key: str) -> StrategyReport:
        """The report of the strategy whose id or name is ``key`` (NotFound when none is)."""
        with self.unit_of_work() as uow:
            strategy = find(uow, key)
            account = next((a for a in uow.subaccounts.all() if a.strategy_id == strategy.id), None)
            trades = uow.trades.for_strategy(strategy.id)
            live = None
            if account is not None and strategy.status is Status.LIVE and strategy.timeframe:
                # the later of now and its last exit: a database a fast clock wrote is ahead
                now = max([self.clock.now(), *(t.exit_time for t in trades if t.exit_time)])
                since = strategy.live_since or now
                live = live_metrics(
                    trades, account.allocated_capital, since, now, strategy.timeframe
                )
            return StrategyReport(
                strategy=strategy,
                parameters=self._parameters(strategy.code),
                events=uow.strategies.events(strategy.id),
                backtests=uow.backtests.for_strategy(strategy.id),
                subaccount=account,
                trades=trades,
                live=live,
            )

    def _parameters(self, code: str) -> dict[str, Any] | None:
        try:
            return self.inspector.outline(code).parameters
        except InvalidStrategyCode:  # code of the original system may declare no interface
            return None


def find(uow: UnitOfWork, key: str) -> Strategy:
    """The strategy whose id or name is ``key``."""
    try:
        return uow.strategies.get(uuid.UUID(key))
    except (ValueError, NotFound):
        pass
    found = uow.strategies.named(key)
    if found is None:
        raise NotFound(
            f"no strategy with the id or name {key!r}; `sixbtc strategy list` shows them"
        )
    return found
