"""A paper-trading desk for executor tests: one LIVE strategy on subaccount 1, its planted
signals, the paper exchange and the executor, driven candle by candle with a ManualClock, on memory,
SQLite or PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import numpy as np
from tests.factories import T0, make_strategy

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryMarketData, InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.paper import PaperExchange
from sixbtc.adapters.paper.book import MemoryPaperStore, PaperStore
from sixbtc.application.errors import StrategyFailed
from sixbtc.application.executor import Executor
from sixbtc.application.kill_switch import KillSwitchControl
from sixbtc.application.ports import Market, UnitOfWork
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.candles import Candles, from_ms
from sixbtc.domain.emergency import EmergencyLimits
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.trade import Trade

CAPITAL = 1000.0
#: Emergency stops off: tests of trading as backtested set their own.
NO_LIMITS = EmergencyLimits(max_drawdown=0, max_daily_loss=0, stale_data_minutes=0)
#: One id for every desk's strategy: client order ids derive from it, so runs compare.
STRATEGY_ID = uuid.UUID(int=17)
SUBACCOUNT = 1


class PlantedSignals:
    """The SignalSource port serving each market's planted signals by candle time; ``failing``
    strategy codes fail as strategy code does, from candle time ``fail_from`` on."""

    def __init__(self, markets: Sequence[Market], fail_from: int | None = None) -> None:
        self.by_symbol = {
            m.candles.symbol: dict(zip(m.candles.time.tolist(), m.signals.tolist(), strict=True))
            for m in markets
        }
        self.fail_from = fail_from

    def signals(self, code: str, candles: Candles, *, fresh: bool = False) -> np.ndarray:
        if self.fail_from is not None and int(candles.time[-1]) >= self.fail_from:
            raise StrategyFailed("ZeroDivisionError: division by zero (line 7)")
        planted = self.by_symbol[candles.symbol]
        return np.array([planted[int(t)] for t in candles.time])


class Desk:
    """The strategy, its subaccount, the exchange and an executor on one database."""

    def __init__(
        self,
        markets: Sequence[Market],
        parameters: ExecutionParameters,
        costs: Costs | None = None,
        *,
        unit_of_work: Callable[[], UnitOfWork] | None = None,
        paper_store: PaperStore | None = None,
        signals: PlantedSignals | None = None,
        history_bars: int = 10_000,
        limits: EmergencyLimits = NO_LIMITS,
    ) -> None:
        if unit_of_work is None:
            memory = InMemoryStore()
            unit_of_work = lambda: InMemoryUnitOfWork(memory)  # noqa: E731
        self.unit_of_work = unit_of_work
        self.markets = list(markets)
        self.timeframe = self.markets[0].candles.timeframe
        self.exchange = PaperExchange(
            costs or Costs(), paper_store or MemoryPaperStore(), initial_capital=CAPITAL
        )
        self.market_data = InMemoryMarketData([m.candles for m in self.markets])
        self.signals = signals or PlantedSignals(self.markets)
        self.clock = ManualClock(from_ms(self.times()[0]))
        self.history_bars = history_bars
        self.kill_switch = KillSwitchControl(self.unit_of_work, self.clock, limits)
        self.strategy = self._deploy(parameters)
        self.executor = self.restart()

    def _deploy(self, parameters: ExecutionParameters) -> Strategy:
        strategy = make_strategy(
            Status.LIVE, score=60.0, timeframe=self.timeframe, strategy_id=STRATEGY_ID
        )
        strategy.execution = parameters
        strategy.coins = tuple(m.candles.symbol for m in self.markets)
        with self.unit_of_work() as uow:
            uow.strategies.add(strategy)
            account = Subaccount(SUBACCOUNT, T0)
            account.assign(strategy.id, CAPITAL)
            uow.subaccounts.add(account)
            uow.commit()
        self.exchange.transfer(SUBACCOUNT, CAPITAL, "fund-1")
        return strategy

    def restart(self) -> Executor:
        """A new executor process on the same database and exchange."""
        self.executor = Executor(
            self.unit_of_work,
            self.exchange,
            self.market_data,
            self.signals,
            self.clock,
            self.history_bars,
            self.kill_switch,
        )
        return self.executor

    def times(self) -> list[int]:
        """Every candle time of every market, in order."""
        return sorted({int(t) for m in self.markets for t in m.candles.time})

    def close_of(self, time_ms: int) -> None:
        """Set the clock to the close of the candle opening at ``time_ms``."""
        self.clock.set(from_ms(time_ms) + self.timeframe.duration)

    def run(self, extra_bars: int = 0) -> None:
        """A pass at the close of every candle (and ``extra_bars`` empty ones after)."""
        times = self.times()
        step = self.timeframe.minutes * 60_000
        for time_ms in [*times, *(times[-1] + step * (n + 1) for n in range(extra_bars))]:
            self.close_of(time_ms)
            self.executor.tick()

    def trades(self) -> list[Trade]:
        with self.unit_of_work() as uow:
            return uow.trades.for_strategy(self.strategy.id)

    def state(self) -> dict:
        """Everything a crash could double or lose: the exchange's fills and positions, and our
        records of them (orders, fills, trades, the strategy and its subaccount)."""
        venue_fills = self.exchange.fills(SUBACCOUNT)
        with self.unit_of_work() as uow:
            ids = sorted(
                {f.client_order_id for f in venue_fills}
                | {o.client_order_id for o in uow.orders.unsettled(SUBACCOUNT)}
            )
            orders = [
                (o.client_order_id, o.status.value, o.request.amount, o.candle)
                for o in map(uow.orders.find, ids)
                if o is not None
            ]
            recorded = sorted(
                (f for i in ids for f in uow.fills.for_order(i)), key=lambda f: f.sequence
            )
            last = uow.fills.last_sequence(SUBACCOUNT)
            strategy = uow.strategies.get(self.strategy.id)
            account = uow.subaccounts.get(SUBACCOUNT)
        trades = sorted(
            (
                t.symbol,
                t.entry_time,
                t.exit_time,
                t.exit_reason,
                t.entry_price,
                t.exit_price,
                t.amount,
                t.fees,
            )
            for t in self.trades()
        )
        return {
            "orders": orders,
            "fills": (recorded, last),
            "venue fills": venue_fills,
            "trades": trades,
            "status": (strategy.status, strategy.retired_reason),
            "account": (account.strategy_id, account.current_balance),
            "positions": self.exchange.positions(SUBACCOUNT),
            "open orders": self.exchange.open_orders(SUBACCOUNT),
            "equity": self.exchange.equity(SUBACCOUNT),
        }
