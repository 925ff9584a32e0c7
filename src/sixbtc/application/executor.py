"""The executor: each LIVE strategy trades on its own subaccount, on each closed candle of its
timeframe, exactly as it was backtested, under the kill switch.

A pass (:meth:`Executor.tick`) first marks the portfolio's value (main account plus every
subaccount) for the emergency stops and reads the kill switch; a flatten closes every subaccount at
once. Then it takes every subaccount that trades for a strategy, once per closed candle of the
strategy's timeframe:

1. the last ``history_bars`` candles of each of its coins are shown to the exchange (a paper
   exchange fills on them); a coin whose candles lag is reported to the stale-data stop;
2. the exchange's new fills are recorded: orders FILLED, trades opened (partial fills of one
   order make one trade) and closed (a partial exit closes its part); a fill of no order of ours
   opens nothing and is left to reconciliation (one commit);
3. orders of an earlier candle still unsettled are cancelled: an order is never sent late;
4. reconciliation: the exchange's positions and open orders against our records; a mismatch is
   recorded as an issue and blocks entries on the subaccount until a later pass finds it gone;
5. the strategy's signals on those candles, through the sandboxed signal source; per coin the last
   one and the position held say what is wanted (:func:`~sixbtc.domain.position.wanted`), and a
   position held ``max_hold_bars`` bars exits; entries only while the kill switch and
   reconciliation allow them, exits always;
6. each order is recorded PENDING with a client id made of strategy, coin, candle and action (one
   commit), then sent unless the exchange already has that id (a placement whose answer was lost
   is looked up, never sent twice), then marked OPEN.

A subaccount the rotator has reserved for a strategy still ACTIVE is left alone. A strategy whose
own code fails is retired (``live_error``) and its positions closed. A subaccount whose strategy
is no longer LIVE is wound down: closed, its fills recorded, its cash moved back to the main
account, then freed. A failure of ours (market data, the sandbox, the exchange) skips the strategy
until the next pass; the database being down stops the pass (the service backs off). With
``dead_man_seconds`` the exchange cancels a subaccount's open orders if passes stop coming.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import attrs
import numpy as np

from sixbtc.application.errors import (
    DatabaseUnavailable,
    ExchangeError,
    OrderRejected,
    StrategyFailed,
)
from sixbtc.application.kill_switch import KillSwitchControl
from sixbtc.application.ports import Clock, Exchange, MarketData, SignalSource, UnitOfWork
from sixbtc.domain.backtest import ExecutionParameters, StopUnit
from sixbtc.domain.candles import Candles, to_ms
from sixbtc.domain.halt import KillSwitch
from sixbtc.domain.orders import Fill, Order, OrderRequest, OrderStatus, Position, Side
from sixbtc.domain.orders import client_order_id as derived_id
from sixbtc.domain.position import (
    Direction,
    ExitReason,
    OpenPosition,
    average_true_range,
    wanted,
)
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.reconciliation import (
    SIZE_TOLERANCE,
    Finding,
    Issue,
    IssueKind,
    compare,
    protective_ids,
)
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.trade import Trade

log = logging.getLogger(__name__)
SERVICE = "executor"
#: How often the portfolio's value is measured for the emergency stops (a live venue answers one
#: request per account; passes come every second).
MARK_INTERVAL = timedelta(minutes=1)


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
    #: Subaccounts that sent no entry for a reconciliation issue.
    blocked: list[int] = attrs.field(factory=list)


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
    kill_switch: KillSwitchControl
    concurrency: int = 1
    #: The last candle handled per strategy (a restart handles it again, harmlessly).
    _handled: dict[uuid.UUID, datetime] = attrs.field(factory=dict, init=False)
    _reported: dict[uuid.UUID, datetime | None] = attrs.field(factory=dict, init=False)
    _marked_at: datetime | None = attrs.field(default=None, init=False)
    #: Per strategy, its coins whose newest candle lags, with how many minutes (last looked at).
    _lagging: dict[uuid.UUID, dict[str, float]] = attrs.field(factory=dict, init=False)

    def tick(self) -> ExecutorPass:
        """One pass over every subaccount that trades for a strategy."""
        outcome = ExecutorPass()
        with self.unit_of_work() as uow:
            accounts = uow.subaccounts.all()
            work = [(a, uow.strategies.get(a.strategy_id)) for a in accounts if not a.is_free]
        switch = self._mark_portfolio(accounts)
        traded = [(a, s) for a, s in work if s.status is not Status.ACTIVE]  # ACTIVE: reserved
        for account, strategy in traded:
            try:
                self._handle(strategy, account, outcome, switch)
            except DatabaseUnavailable:
                raise
            except Exception as error:  # ours: retried on the next pass, never blamed on it
                self._report(strategy, account, error)
                outcome.skipped.append(strategy.name)
        lagging: dict[str, float] = {}
        for _, strategy in traded:
            for coin, minutes in self._lagging.get(strategy.id, {}).items():
                lagging[coin] = max(minutes, lagging.get(coin, 0.0))
        self.kill_switch.candles(lagging)
        if switch.flattening and self._flat([a for a, _ in traded]):
            self.kill_switch.flattened()
        return outcome

    def _mark_portfolio(self, accounts: Sequence[Subaccount]) -> KillSwitch:
        """The portfolio's value to the emergency stops (at most every ``MARK_INTERVAL``: each
        mark asks the exchange for every account), then the kill switch; between marks, or when
        the exchange cannot tell the value, the kill switch as it stands."""
        now = self.clock.now()
        if self._marked_at is not None and now - self._marked_at < MARK_INTERVAL:
            return self.kill_switch.current()
        self._marked_at = now
        try:
            value = self.exchange.main_balance() + sum(self.exchange.equity(a.id) for a in accounts)
        except ExchangeError as error:
            log.warning("portfolio value unknown this pass (%s); emergency stops wait", error)
            return self.kill_switch.current()
        return self.kill_switch.mark(value)

    def _flat(self, accounts: Sequence[Subaccount]) -> bool:
        """Whether no subaccount holds a position or an order (False when the exchange cannot
        tell: the next pass asks again)."""
        try:
            return not any(
                self.exchange.positions(a.id) or self.exchange.open_orders(a.id) for a in accounts
            )
        except ExchangeError as error:
            log.warning("flatten: the exchange could not tell whether it is done (%s)", error)
            return False

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

    def _handle(
        self, strategy: Strategy, account: Subaccount, outcome: ExecutorPass, switch: KillSwitch
    ) -> None:
        if strategy.timeframe is None or strategy.execution is None or not strategy.coins:
            raise ValueError(
                f"strategy {strategy.name} has no chosen timeframe, parameters or coins"
            )
        if self.kill_switch.limits.dead_man_seconds:
            self.exchange.keep_alive(account.id, self.kill_switch.limits.dead_man_seconds)
        candle = strategy.timeframe.last_closed(self.clock.now())
        for halt in switch.flattening:  # at once, not at the next candle; again each minute
            minute = self.clock.now().replace(second=0, microsecond=0)
            self.exchange.close_all(account.id, derived_id(halt.id, account.id, minute))
            outcome.fills += self._record_fills(
                _Trading(strategy, account, strategy.execution, candle, [])
            )  # a live venue's closes are filled already
        if self._handled.get(strategy.id) == candle:
            return
        windows = self._windows(strategy, candle)
        if not windows:
            return  # the candle is not served yet: the next pass asks again
        now = _Trading(strategy, account, strategy.execution, candle, windows)
        self.exchange.observe(account.id, windows)
        outcome.fills += self._record_fills(now)
        self._cancel_unsettled(now, before=candle)
        issues = self._reconcile(now)
        if strategy.status is not Status.LIVE:
            self._wind_down(now, outcome)
        elif not switch.flattening:
            entries = switch.entries_allowed and not issues
            if issues and switch.entries_allowed:
                outcome.blocked.append(account.id)
            self._trade(now, outcome, entries)
        self._handled[strategy.id] = candle
        outcome.handled += 1

    def _windows(self, strategy: Strategy, candle: datetime) -> list[Candles]:
        """The last ``history_bars`` candles of each coin that has ``candle`` already; how far
        the others lag is noted for the stale-data stop."""
        timeframe = strategy.timeframe
        assert timeframe is not None
        start = candle - (self.history_bars - 1) * timeframe.duration
        end = candle + timeframe.duration
        windows = [self.market_data.candles(coin, timeframe, start, end) for coin in strategy.coins]
        ready = [w for w in windows if len(w) and int(w.time[-1]) == to_ms(candle)]
        self._lagging[strategy.id] = {
            w.symbol: (to_ms(candle) - int(w.time[-1])) / 60_000 if len(w) else math.inf
            for w in windows
            if not (len(w) and int(w.time[-1]) == to_ms(candle))
        }
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
        """Record the exchange's fills not recorded yet, with the trades they open and close;
        then cancel what still rests to protect a closed trade (its stop after its target
        filled, both after an exit of ours), so that it never acts on a later position."""
        with self.unit_of_work() as uow:
            after = uow.fills.last_sequence(t.account.id)
        fills = self.exchange.fills(t.account.id, after)
        if not fills:
            return 0
        closed: list[Trade] = []
        with self.unit_of_work() as uow:
            for fill in fills:
                uow.fills.add(fill)
                order = uow.orders.find(fill.client_order_id) if fill.client_order_id else None
                if order is not None:
                    order.filled()
                    uow.orders.save(order)
                if fill.reason is not None:
                    closed += self._close_trade(uow, t, fill)
                elif order is not None:
                    self._open_trade(uow, t, fill, order)
                else:
                    log.error(
                        "subaccount %d: fill %d (%s %g %s at %g, client id %r) of no order of "
                        "ours; recorded, no trade opened; reconciliation flags the position",
                        t.account.id,
                        fill.sequence,
                        fill.side,
                        fill.amount,
                        fill.symbol,
                        fill.price,
                        fill.client_order_id,
                    )
            uow.commit()
        for cloid in sorted(protective_ids(closed)):
            self.exchange.cancel_order(t.account.id, cloid)
        return len(fills)

    def _open_trade(self, uow: UnitOfWork, t: _Trading, fill: Fill, order: Order) -> None:
        """A new trade, or one more part of its entry order's (a partial fill)."""
        trade = next(
            (
                x
                for x in uow.trades.open_for(t.strategy.id)
                if x.entry_order_id == order.client_order_id
            ),
            None,
        )
        if trade is None:
            uow.trades.add(_opened(t, fill, order))
        else:
            trade.add_entry(fill.amount, fill.price, fill.fee)
            uow.trades.save(trade)

    def _close_trade(self, uow: UnitOfWork, t: _Trading, fill: Fill) -> list[Trade]:
        """Close the open trade on the fill's coin (returned when it is closed whole); a fill
        smaller than the trade closes that part of it."""
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
            return []
        assert fill.reason is not None
        whole = fill.amount >= trade.amount * (1 - SIZE_TOLERANCE)
        if not whole:
            part = trade.split(fill.amount)
            uow.trades.save(trade)
            uow.trades.add(part)
            trade = part
        trade.close(
            at=fill.at,
            price=fill.price,
            reason=fill.reason,
            fee=fill.fee,
            order_id=fill.client_order_id,
        )
        uow.trades.save(trade)
        return [trade] if whole else []

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

    def _reconcile(self, t: _Trading) -> list[Issue]:
        """Compare the subaccount on the exchange with our records; store what newly does not
        match, resolve what matches again. The issues still open after that."""
        findings = self._compare(t)
        if findings:  # a fill may have landed between two reads; a stop may need placing again
            self._record_fills(t)
            self._protect(t, [f.subject for f in findings if f.kind is IssueKind.MISSING_STOP])
            findings = self._compare(t)
        now, account = self.clock.now(), t.account.id
        with self.unit_of_work() as uow:
            known = {issue.key: issue for issue in uow.issues.unresolved(account)}
            current = {(account, f.kind, f.subject): f for f in findings}
            for key, finding in current.items():
                if key not in known:
                    issue = Issue(account, finding.kind, finding.subject, finding.detail, now)
                    uow.issues.add(issue)
                    log.error(
                        "subaccount %d (%s): %s: %s; no new entries here until it is resolved",
                        account,
                        t.strategy.name,
                        finding.kind,
                        finding.detail,
                    )
            for key, issue in known.items():
                if key not in current:
                    issue.resolve(now, "reconciliation")
                    uow.issues.save(issue)
                    log.warning("subaccount %d: %s %s resolved", account, issue.kind, issue.subject)
            open_issues = uow.issues.unresolved(account)
            uow.commit()
        return open_issues

    def _protect(self, t: _Trading, symbols: list[str]) -> None:
        """Place the entry order of our position on each of ``symbols`` again: the exchange
        knows it filled and rests only the stop and target it lacks."""
        if not symbols:
            return
        with self.unit_of_work() as uow:
            entries = [
                uow.orders.find(x.entry_order_id)
                for x in uow.trades.open_for(t.strategy.id)
                if x.symbol in symbols and x.subaccount == t.account.id
            ]
        for order in entries:
            if order is not None:
                log.warning(
                    "subaccount %d: %s has no stop resting; placing its protection again",
                    t.account.id,
                    order.request.symbol,
                )
                self.exchange.place_order(order.request, order.protection(t.parameters))

    def _compare(self, t: _Trading) -> list[Finding]:
        positions = self.exchange.positions(t.account.id)
        resting = self.exchange.open_orders(t.account.id)
        with self.unit_of_work() as uow:
            trades = [x for x in uow.trades.open_for(t.strategy.id) if x.subaccount == t.account.id]
            ours = {o.client_order_id for o in uow.orders.unsettled(t.account.id)}
        return compare(positions, resting, trades, ours)

    # --- trading ------------------------------------------------------------------------------

    def _trade(self, t: _Trading, outcome: ExecutorPass, entries: bool) -> None:
        try:
            signals = self._signals(t.strategy.code, t.windows)
        except StrategyFailed as error:
            self._stop(t, error, outcome)
            return
        equity = self.exchange.equity(t.account.id)  # orders placed now fill at the next open
        wanted_orders = self._orders(t, signals, equity, entries)
        with self.unit_of_work() as uow:
            for order in wanted_orders:
                if uow.orders.find(order.client_order_id) is None:
                    uow.orders.add(order)
            uow.commit()
        outcome.orders += self._send(t)
        outcome.fills += self._record_fills(t)  # a live venue fills at once
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

    def _orders(self, t: _Trading, signals: list[int], equity: float, entries: bool) -> list[Order]:
        """The orders the signals ask for, per coin: the exit of a position held
        ``max_hold_bars`` bars (a simulated venue has closed it already) or that an opposite
        signal ends; then, when ``entries`` and flat (also just after a maximum-holding exit, as
        the backtest enters at the next open), an entry sized at the subaccount's equity split
        across its coins times the leverage. Positions that are not ours are never traded."""
        positions = {p.symbol: p for p in self.exchange.positions(t.account.id)}
        with self.unit_of_work() as uow:
            trades = {x.symbol: x for x in uow.trades.open_for(t.strategy.id)}
        p = t.parameters
        orders = []
        for window, signal in zip(t.windows, signals, strict=True):
            symbol, position = window.symbol, positions.get(window.symbol)
            held = position.direction if position is not None else None
            if position is not None:
                if symbol not in trades:
                    continue  # not ours: reconciliation has flagged it
                if self._bars_held(t, trades[symbol]) >= p.max_hold_bars:
                    orders.append(self._exit(t, position, ExitReason.MAX_HOLD))
                    held = None
                elif wanted(signal, held) != held:
                    orders.append(self._exit(t, position, ExitReason.SIGNAL))
                    continue  # flat at the next open: never a reversal in the same step
            target = wanted(signal, held)
            if held is None and target is not None and entries:
                entry = self._entry(t, window, target, equity / len(t.strategy.coins))
                if entry is not None:
                    orders.append(entry)
        return orders

    def _exit(self, t: _Trading, position: Position, reason: ExitReason) -> Order:
        """A reduce-only order closing ``position`` at market, its id saying why."""
        cloid = derived_id(t.strategy.id, position.symbol, to_ms(t.candle), reason, reason=reason)
        side = Side.closing(position.direction)
        request = OrderRequest(
            cloid, t.account.id, position.symbol, side, abs(position.amount), reduce_only=True
        )
        return Order(t.strategy.id, request, self.clock.now(), t.candle)

    def _entry(
        self, t: _Trading, window: Candles, direction: Direction, margin: float
    ) -> Order | None:
        """An order opening ``direction`` with ``margin`` times the leverage at the last close
        (None when there is no equity left), with the ATR its stop needs."""
        p, symbol = t.parameters, window.symbol
        amount = margin * p.leverage / float(window.close[-1])
        if not amount > 0:
            log.warning("strategy %s: no equity left to enter %s", t.strategy.name, symbol)
            return None
        atr = None
        if p.stop_unit is StopUnit.ATR:
            atr = average_true_range(window.high, window.low, window.close, p.atr_period)[-1]
        cloid = derived_id(t.strategy.id, symbol, to_ms(t.candle), "entry")
        request = OrderRequest(cloid, t.account.id, symbol, Side.opening(direction), amount)
        return Order(t.strategy.id, request, self.clock.now(), t.candle, atr)

    @staticmethod
    def _bars_held(t: _Trading, trade: Trade) -> int:
        """Bars from the one the trade entered on to the closed candle, both counted."""
        timeframe = t.strategy.timeframe
        assert timeframe is not None
        entered = timeframe.last_closed(trade.entry_time) + timeframe.duration
        return int((t.candle - entered) / timeframe.duration) + 1

    def _send(self, t: _Trading) -> int:
        """Send this candle's PENDING orders, unless the exchange already has them (sent before
        a crash or a lost answer), then mark them OPEN; one the exchange refuses is REJECTED."""
        with self.unit_of_work() as uow:
            pending = [
                o
                for o in uow.orders.unsettled(t.account.id)
                if o.status is OrderStatus.PENDING and o.candle == t.candle
            ]
        settled = []
        for order in sorted(pending, key=lambda o: not o.request.reduce_only):  # exits first
            try:
                if not self.exchange.order_known(t.account.id, order.client_order_id):
                    self.exchange.place_order(order.request, order.protection(t.parameters))
                order.sent()
            except OrderRejected as error:
                log.error(
                    "strategy %s: order %s refused: %s",
                    t.strategy.name,
                    order.client_order_id,
                    error,
                )
                order.rejected()
            settled.append(order)
        with self.unit_of_work() as uow:
            for order in settled:
                uow.orders.save(order)
            uow.commit()
        return sum(o.status is OrderStatus.OPEN for o in settled)

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
        self.exchange.close_all(t.account.id, derived_id(t.strategy.id, "close_all", t.candle))

    def _wind_down(self, t: _Trading, outcome: ExecutorPass) -> None:
        """The strategy no longer trades: close everything; once flat, move the cash back to the
        main account and free the subaccount."""
        self.exchange.close_all(t.account.id, derived_id(t.strategy.id, "close_all", t.candle))
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
