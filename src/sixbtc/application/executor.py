"""The executor: each LIVE strategy trades on its own subaccount, on each closed candle of its
timeframe, exactly as it was backtested.

A pass (:meth:`Executor.tick`) takes every subaccount that trades for a strategy, once per closed
candle of the strategy's timeframe:

1. the last ``history_bars`` candles of each of its coins are shown to the exchange (a paper
   exchange fills on them);
2. the exchange's new fills are recorded: orders FILLED, trades opened and closed (one commit);
3. orders of an earlier candle still unsettled are cancelled: an order is never sent late;
4. the strategy's signals on those candles, through the sandboxed signal source; per coin the last
   one and the position held say what is wanted (:func:`~sixbtc.domain.position.wanted`);
5. each order is recorded PENDING with a client id made of strategy, coin, candle and action (one
   commit), then sent, then marked OPEN.

A subaccount the rotator has reserved for a strategy still ACTIVE is left alone. A crash anywhere
repeats the pass with the same client ids: the exchange ignores an id it has
seen, so nothing is doubled and nothing lost. A strategy whose own code fails is retired
(``live_error``) and its positions closed. A subaccount whose strategy is no longer LIVE is wound
down: closed, its fills recorded, its cash moved back to the main account, then freed. A failure of
ours (market data, the sandbox, the exchange) skips the strategy until the next pass; the database
being down stops the pass (the service backs off).
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import attrs
import numpy as np

from sixbtc.application.errors import DatabaseUnavailable, StrategyFailed
from sixbtc.application.ports import Clock, Exchange, MarketData, SignalSource, UnitOfWork
from sixbtc.domain.backtest import ExecutionParameters, StopUnit
from sixbtc.domain.candles import Candles, to_ms
from sixbtc.domain.orders import Fill, Order, OrderRequest, OrderStatus, Side
from sixbtc.domain.orders import client_order_id as derived_id
from sixbtc.domain.position import (
    Direction,
    ExitReason,
    OpenPosition,
    average_true_range,
    wanted,
)
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.trade import Trade

log = logging.getLogger(__name__)
SERVICE = "executor"


@attrs.define
class ExecutorPass:
    """What one pass did: subaccounts handled, orders sent, fills recorded, strategies stopped
    for their own failure, subaccounts freed, and strategies skipped for a failure of ours."""

    handled: int = 0
    orders: int = 0
    fills: int = 0
    stopped: list[str] = attrs.field(factory=list)
    freed: list[int] = attrs.field(factory=list)
    skipped: list[str] = attrs.field(factory=list)


@attrs.frozen
class _Trading:
    """A subaccount and its strategy's trading facts for one candle."""

    strategy: Strategy
    account: Subaccount
    parameters: ExecutionParameters
    candle: datetime
    windows: list[Candles]


@attrs.define
class Executor:
    """Trades the subaccounts of LIVE strategies; ``unit_of_work`` makes a new unit of work per
    use; ``concurrency`` signal requests in flight at once."""

    unit_of_work: Callable[[], UnitOfWork]
    exchange: Exchange
    market_data: MarketData
    signal_source: SignalSource
    clock: Clock
    history_bars: int
    concurrency: int = 1
    #: The last candle handled per strategy (a restart handles it again, harmlessly).
    _handled: dict[uuid.UUID, datetime] = attrs.field(factory=dict, init=False)
    _reported: dict[uuid.UUID, datetime | None] = attrs.field(factory=dict, init=False)

    def tick(self) -> ExecutorPass:
        """One pass over every subaccount that trades for a strategy."""
        outcome = ExecutorPass()
        with self.unit_of_work() as uow:
            work = [
                (a, uow.strategies.get(a.strategy_id))
                for a in uow.subaccounts.all()
                if a.strategy_id is not None
            ]
        for account, strategy in work:
            if strategy.status is Status.ACTIVE:
                continue  # reserved by the rotator, not LIVE yet
            try:
                self._handle(strategy, account, outcome)
            except DatabaseUnavailable:
                raise
            except Exception as error:  # ours: retried on the next pass, never blamed on it
                self._report(strategy, account, error)
                outcome.skipped.append(strategy.name)
        return outcome

    def _report(self, strategy: Strategy, account: Subaccount, error: Exception) -> None:
        """A failure of ours, with its traceback once per strategy and candle (every pass retries
        it; the repeats are logged at debug level)."""
        candle = strategy.timeframe.last_closed(self.clock.now()) if strategy.timeframe else None
        first = strategy.id not in self._reported or self._reported[strategy.id] != candle
        self._reported[strategy.id] = candle
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "strategy %s on subaccount %d: not traded yet on this candle, retried on the next "
            "pass (%s: %s)",
            strategy.name,
            account.id,
            type(error).__name__,
            error,
            exc_info=first,
        )

    def _handle(self, strategy: Strategy, account: Subaccount, outcome: ExecutorPass) -> None:
        if strategy.timeframe is None or strategy.execution is None or not strategy.coins:
            raise ValueError(
                f"strategy {strategy.name} has no chosen timeframe, parameters or coins"
            )
        candle = strategy.timeframe.last_closed(self.clock.now())
        if self._handled.get(strategy.id) == candle:
            return
        windows = self._windows(strategy, candle)
        if not windows:
            return  # the candle is not served yet: the next pass asks again
        now = _Trading(strategy, account, strategy.execution, candle, windows)
        self.exchange.observe(account.id, windows)
        outcome.fills += self._record_fills(now)
        self._cancel_unsettled(now, before=candle)
        if strategy.status is Status.LIVE:
            self._trade(now, outcome)
        else:
            self._wind_down(now, outcome)
        self._handled[strategy.id] = candle
        outcome.handled += 1

    def _windows(self, strategy: Strategy, candle: datetime) -> list[Candles]:
        """The last ``history_bars`` candles of each coin that has ``candle`` already."""
        timeframe = strategy.timeframe
        assert timeframe is not None
        start = candle - (self.history_bars - 1) * timeframe.duration
        end = candle + timeframe.duration
        windows = [self.market_data.candles(coin, timeframe, start, end) for coin in strategy.coins]
        ready = [w for w in windows if len(w) and int(w.time[-1]) == to_ms(candle)]
        if ready and len(ready) < len(windows):
            late = sorted(set(strategy.coins) - {w.symbol for w in ready})
            log.warning(
                "strategy %s: no %s candle of %s yet; they sit this one out",
                strategy.name,
                candle.isoformat(),
                ", ".join(late),
            )
        return ready

    # --- records ------------------------------------------------------------------------------

    def _record_fills(self, t: _Trading) -> int:
        """Record the exchange's fills not recorded yet, with the trades they open and close."""
        with self.unit_of_work() as uow:
            after = uow.fills.last_sequence(t.account.id)
        fills = self.exchange.fills(t.account.id, after)
        if not fills:
            return 0
        with self.unit_of_work() as uow:
            for fill in fills:
                uow.fills.add(fill)
                order = uow.orders.find(fill.client_order_id)
                if order is not None:
                    order.filled()
                    uow.orders.save(order)
                if fill.reason is None:
                    uow.trades.add(_opened(t, fill, order))
                else:
                    self._close_trade(uow, t, fill)
            uow.commit()
        return len(fills)

    def _close_trade(self, uow: UnitOfWork, t: _Trading, fill: Fill) -> None:
        trade = next(
            (x for x in uow.trades.open_for(t.strategy.id) if x.symbol == fill.symbol), None
        )
        if trade is None:
            log.error(
                "subaccount %d: fill %d closes a %s position no trade of %s opened",
                t.account.id,
                fill.sequence,
                fill.symbol,
                t.strategy.name,
            )
            return
        trade.close(
            at=fill.at,
            price=fill.price,
            reason=fill.reason,
            fee=fill.fee,
            order_id=fill.client_order_id,
        )
        uow.trades.save(trade)

    def _cancel_unsettled(self, t: _Trading, before: datetime | None) -> None:
        """Cancel the unsettled orders of candles before ``before`` (None: all) on the coins shown
        to the exchange this pass (a late coin's order may still fill on its next bar): on the
        exchange with no unit of work open (on SQLite the paper exchange needs the write lock),
        then recorded CANCELLED (repeating it is harmless)."""
        shown = {w.symbol for w in t.windows}
        with self.unit_of_work() as uow:
            stale = [
                o
                for o in uow.orders.unsettled(t.account.id)
                if (before is None or o.candle < before) and o.request.symbol in shown
            ]
        if not stale:
            return
        for order in stale:
            self.exchange.cancel_order(t.account.id, order.client_order_id)
        with self.unit_of_work() as uow:
            for order in stale:
                order.cancelled()
                uow.orders.save(order)
            uow.commit()

    # --- trading ------------------------------------------------------------------------------

    def _trade(self, t: _Trading, outcome: ExecutorPass) -> None:
        try:
            signals = self._signals(t.strategy.code, t.windows)
        except StrategyFailed as error:
            self._stop(t, error, outcome)
            return
        equity = self.exchange.equity(t.account.id)  # orders placed now fill at the next open
        wanted_orders = self._orders(t, signals, equity)
        with self.unit_of_work() as uow:
            for order in wanted_orders:
                if uow.orders.find(order.client_order_id) is None:
                    uow.orders.add(order)
            uow.commit()
        outcome.orders += self._send(t)
        with self.unit_of_work() as uow:
            account = uow.subaccounts.get(t.account.id)
            account.record_balance(equity)
            uow.subaccounts.save(account)
            uow.commit()

    def _signals(self, code: str, windows: Sequence[Candles]) -> list[int]:
        """The last signal of each window (-1, 0 or +1), ``concurrency`` requests at once."""

        def last(window: Candles) -> int:
            value = float(np.asarray(self.signal_source.signals(code, window))[-1])
            return 0 if math.isnan(value) else int(value)

        with ThreadPoolExecutor(max(1, self.concurrency)) as pool:
            return list(pool.map(last, windows))

    def _orders(self, t: _Trading, signals: list[int], equity: float) -> list[Order]:
        """The orders the signals ask for: an exit of a position an opposite signal ends, an
        entry sized at the subaccount's equity split across its coins times the leverage."""
        positions = {p.symbol: p for p in self.exchange.positions(t.account.id)}
        margin = equity / len(t.strategy.coins)
        p, candle_ms, created = t.parameters, to_ms(t.candle), self.clock.now()
        orders = []
        for window, signal in zip(t.windows, signals, strict=True):
            symbol, position = window.symbol, positions.get(window.symbol)
            held = position.direction if position is not None else None
            target = wanted(signal, held)
            if target == held:
                continue
            atr = None
            if position is not None:
                side, amount, action = (
                    Side.closing(position.direction),
                    abs(position.amount),
                    "exit",
                )
            else:
                assert target is not None
                price = float(window.close[-1])
                side, amount, action = Side.opening(target), margin * p.leverage / price, "entry"
                if not amount > 0:
                    log.warning("strategy %s: no equity left to enter %s", t.strategy.name, symbol)
                    continue
                if p.stop_unit is StopUnit.ATR:
                    atr = average_true_range(window.high, window.low, window.close, p.atr_period)[
                        -1
                    ]
            cloid = derived_id(
                t.strategy.id,
                symbol,
                candle_ms,
                action,
                reason=ExitReason.SIGNAL if position else None,
            )
            request = OrderRequest(
                cloid, t.account.id, symbol, side, amount, reduce_only=position is not None
            )
            orders.append(Order(t.strategy.id, request, created, t.candle, atr))
        return orders

    def _send(self, t: _Trading) -> int:
        """Send this candle's PENDING orders (again, after a crash: the exchange knows their
        ids), then mark them OPEN."""
        with self.unit_of_work() as uow:
            pending = [
                o
                for o in uow.orders.unsettled(t.account.id)
                if o.status is OrderStatus.PENDING and o.candle == t.candle
            ]
        for order in pending:
            self.exchange.place_order(order.request, order.protection(t.parameters))
        with self.unit_of_work() as uow:
            for order in pending:
                order.sent()
                uow.orders.save(order)
            uow.commit()
        return len(pending)

    # --- stopping -----------------------------------------------------------------------------

    def _stop(self, t: _Trading, error: StrategyFailed, outcome: ExecutorPass) -> None:
        """The strategy's code failed live: retire it, then close its positions."""
        reason = Reason(Code.LIVE_ERROR, f"{type(error).__name__}: {error}")
        with self.unit_of_work() as uow:
            strategy = uow.strategies.get(t.strategy.id)
            strategy.retire(reason, at=self.clock.now(), service=SERVICE)
            uow.strategies.save(strategy)
            uow.commit()
        log.error(
            "strategy %s stopped trading on subaccount %d: %s; its positions are closed",
            t.strategy.name,
            t.account.id,
            reason,
        )
        outcome.stopped.append(t.strategy.name)
        self.exchange.close_all(t.account.id, derived_id(t.strategy.id, "close_all"))

    def _wind_down(self, t: _Trading, outcome: ExecutorPass) -> None:
        """The strategy no longer trades: close everything; once flat, move the cash back to the
        main account and free the subaccount."""
        self.exchange.close_all(t.account.id, derived_id(t.strategy.id, "close_all"))
        self._cancel_unsettled(t, before=None)
        if self.exchange.positions(t.account.id) or self.exchange.open_orders(t.account.id):
            return  # the closing orders fill on the next candle
        cash = self.exchange.equity(t.account.id)
        self.exchange.transfer(t.account.id, -cash, derived_id(t.strategy.id, "return"))
        with self.unit_of_work() as uow:
            account = uow.subaccounts.get(t.account.id)
            if cash > 0:  # 0 after a crash between the transfer and here: the last pass recorded it
                account.record_balance(cash)
            account.release()
            uow.subaccounts.save(account)
            uow.commit()
        log.info(
            "subaccount %d freed: strategy %s is %s; %.2f moved back to the main account",
            t.account.id,
            t.strategy.name,
            t.strategy.status,
            cash,
        )
        outcome.freed.append(t.account.id)


def _opened(t: _Trading, fill: Fill, order: Order | None) -> Trade:
    """The trade an entry fill opens, with the stop and target its protection placed."""
    direction = Direction(fill.side.sign)
    protection = order.protection(t.parameters) if order is not None else None
    atr = protection.atr if protection is not None else math.nan
    levels = OpenPosition.open(direction, fill.price, 0, t.parameters, atr)
    return Trade(
        strategy_id=t.strategy.id,
        subaccount=t.account.id,
        symbol=fill.symbol,
        direction=direction,
        entry_time=fill.at,
        entry_price=fill.price,
        amount=fill.amount,
        leverage=t.parameters.leverage,
        entry_order_id=fill.client_order_id,
        stop=levels.stop if levels else None,
        target=levels.target if levels else None,
        fees=fill.fee,
    )
