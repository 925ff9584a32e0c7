"""The executor beyond parity: a crash after any step of a pass loses and doubles nothing, a
strategy whose code fails live is stopped and its subaccount wound down, a failure of ours
skips a candle without blaming the strategy, and the paper exchange's state survives a restart
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from tests.engine_markets import market
from tests.integration.executor_harness import CAPITAL, SUBACCOUNT, Desk, PlantedSignals
from tests.integration.test_paper_parity import thirty_coins

from sixbtc.adapters.paper.book import MemoryPaperStore
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine
from sixbtc.adapters.sqlalchemy.paper import SqlAlchemyPaperStore
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.reasons import Code
from sixbtc.domain.strategy import Status

PARAMS = ExecutionParameters(stop_loss=0.04, take_profit=0.05, leverage=2.0, max_hold_bars=3)
ROWS = [
    (100, 101, 99, 100),
    (100, 102, 99.5, 101),
    (101, 101.5, 97, 98),
    (98, 99, 97.5, 98.5),
    (98.5, 103, 98, 102.5),
    (102.5, 103, 101, 101.5),
    (101.5, 102, 99, 99.5),
    (99.5, 100, 96, 96.5),
    (96.5, 97, 95, 95.5),
    (95.5, 99, 95, 98.8),
]


def small_markets():
    return [
        market(ROWS, [1, 0, 0, -1, 0, 1, 0, -1, 0, 0], symbol="BTC"),
        market(
            [(o * 2, h * 2, lo * 2, c * 2) for o, h, lo, c in ROWS],
            [-1, 0, 1, 0, 0, -1, 0, 0, 1, 0],
            symbol="ETH",
        ),
    ]


class Crash(BaseException):
    """The process dies (a BaseException: nothing of ours catches it)."""


class Faults:
    """Counts the steps of a pass (every exchange call and every commit) and crashes the process
    right before or right after the ``at``-th one (None: never)."""

    def __init__(self, at: int | None, when: str) -> None:
        self.at, self.when, self.steps = at, when, 0

    def step(self, call):
        self.steps += 1
        hit = self.steps == self.at
        if hit and self.when == "before":
            raise Crash(self.steps)
        result = call()
        if hit:
            raise Crash(self.steps)
        return result


class FaultyExchange:
    def __init__(self, exchange, faults: Faults) -> None:
        self._exchange, self._faults = exchange, faults

    def __getattr__(self, name):
        method = getattr(self._exchange, name)
        return lambda *a, **k: self._faults.step(lambda: method(*a, **k))


def faulty_unit_of_work(make, faults: Faults):
    def unit_of_work():
        uow = make()
        commit = uow.commit
        uow.commit = lambda: faults.step(commit)
        return uow

    return unit_of_work


def crashed_run(at: int | None, when: str) -> tuple[dict, int]:
    """Run the desk with a crash at step ``at``; after it, a new executor (a restart) goes on with
    the same candle. Returns the final state and the number of steps seen."""
    desk = Desk(small_markets(), PARAMS, Costs(0.001, 0.0005))
    faults = Faults(at, when)
    healthy_uow, healthy_exchange = desk.unit_of_work, desk.exchange
    desk.unit_of_work = faulty_unit_of_work(healthy_uow, faults)
    desk.exchange = FaultyExchange(healthy_exchange, faults)
    desk.restart()
    for time_ms in desk.times():
        desk.close_of(time_ms)
        try:
            desk.executor.tick()
        except Crash:
            desk.unit_of_work, desk.exchange = healthy_uow, healthy_exchange
            desk.restart().tick()
    desk.unit_of_work, desk.exchange = healthy_uow, healthy_exchange
    return desk.state(), faults.steps


def test_a_crash_after_any_step_doubles_and_loses_nothing():
    expected, steps = crashed_run(None, "after")
    assert len(expected["trades"]) >= 4 and steps > 50
    assert {t[3] for t in expected["trades"]} >= {"signal", "sl", "tp", "max_hold"}
    assert expected["positions"]  # and positions still open at the end
    for when in ("before", "after"):
        for at in range(1, steps + 1):
            got, _ = crashed_run(at, when)
            assert got == expected, f"crash {when} step {at}"


def test_a_strategy_whose_code_fails_live_is_stopped_and_its_subaccount_wound_down(caplog):
    markets = small_markets()
    fail_from = int(markets[0].candles.time[6])  # BTC and ETH are held then
    desk = Desk(markets, PARAMS, signals=PlantedSignals(markets, fail_from=fail_from))
    desk.run()
    with desk.unit_of_work() as uow:
        strategy = uow.strategies.get(desk.strategy.id)
        account = uow.subaccounts.get(SUBACCOUNT)
    assert strategy.status is Status.RETIRED
    assert strategy.retired_reason.code is Code.LIVE_ERROR
    assert "ZeroDivisionError" in strategy.retired_reason
    assert "stopped trading" in caplog.text
    trades = desk.trades()
    assert trades and all(not t.is_open for t in trades)
    ended = [t for t in trades if t.exit_reason == "end"]
    assert len(ended) == 2  # both positions held at the failure closed at the next open
    assert all(t.exit_time == desk.trades()[-1].exit_time for t in ended)
    assert account.is_free and desk.exchange.positions(SUBACCOUNT) == []
    assert desk.exchange.equity(SUBACCOUNT) == 0.0
    assert desk.exchange.main_balance() == pytest.approx(CAPITAL + sum(t.pnl for t in trades))
    assert account.current_balance == pytest.approx(CAPITAL + sum(t.pnl for t in trades), rel=1e-12)


def test_a_failure_of_ours_skips_the_candle_and_never_blames_the_strategy():
    markets = small_markets()

    class Flaky(PlantedSignals):
        calls = 0

        def signals(self, code, candles, *, fresh=False):
            Flaky.calls += 1
            if Flaky.calls in (3, 4):
                raise RuntimeError("sandbox worker died")
            return super().signals(code, candles)

    desk = Desk(markets, PARAMS, signals=Flaky(markets))
    desk.run()
    with desk.unit_of_work() as uow:
        assert uow.strategies.get(desk.strategy.id).status is Status.LIVE
    assert desk.trades()


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request):
    fixture = "migrated_sqlite_url" if request.param == "sqlite" else "migrated_postgres_url"
    engine = create_engine(request.getfixturevalue(fixture))
    yield engine
    engine.dispose()


def test_a_restarted_executor_continues_where_it_was_on_the_database(database):
    """Half the candles, then a new exchange and executor on the same database (a restart of the
    service): the outcome equals one uninterrupted run in memory, on 30 coins."""
    markets = thirty_coins(bars=60, seed=3)
    reference = Desk(markets, PARAMS, history_bars=20)
    reference.run()

    def parts():
        return (lambda: SqlAlchemyUnitOfWork(database)), SqlAlchemyPaperStore(database)

    uow, store = parts()
    desk = Desk(markets, PARAMS, history_bars=20, unit_of_work=uow, paper_store=store)
    times = desk.times()
    for time_ms in times[:30]:
        desk.close_of(time_ms)
        desk.executor.tick()
    desk.unit_of_work, store = parts()
    desk.exchange = type(desk.exchange)(desk.exchange.costs, store)
    desk.restart()
    for time_ms in times[30:]:
        desk.close_of(time_ms)
        desk.executor.tick()
    got, want = desk.state(), reference.state()
    assert got["trades"] == want["trades"] and len(got["trades"]) > 50
    assert got["venue fills"] == want["venue fills"]
    assert got["positions"] == want["positions"]
    assert got["equity"] == pytest.approx(want["equity"], rel=1e-12)
    assert [o[:3] for o in got["orders"]] == [o[:3] for o in want["orders"]]


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
def test_the_paper_exchange_takes_each_transfer_once_and_refuses_overdrafts(backend, tmp_path):
    from sixbtc.adapters.paper import PaperExchange
    from sixbtc.adapters.sqlalchemy import migrations
    from sixbtc.application.errors import ExchangeError

    if backend == "memory":
        store = MemoryPaperStore()
    else:
        url = f"sqlite:///{tmp_path / 'paper.db'}"
        migrations.upgrade(url)
        store = SqlAlchemyPaperStore(create_engine(url))
    exchange = PaperExchange(Costs(), store, initial_capital=1200.0)
    exchange.transfer(1, 500.0, "t1")
    exchange.transfer(1, 500.0, "t1")  # a retry moves nothing
    assert (exchange.main_balance(), exchange.equity(1)) == (700.0, 500.0)
    with pytest.raises(ExchangeError, match=r"subaccount 1: cannot move 600\.00 out; it holds"):
        exchange.transfer(1, -600.0, "t2")
    with pytest.raises(ExchangeError, match=r"the main account: cannot move 800\.00 out"):
        exchange.transfer(2, 800.0, "t3")
    exchange.transfer(2, 700.0, "t3")
    exchange.transfer(1, -200.0, "t4")
    restarted = PaperExchange(Costs(), store, initial_capital=1200.0)
    assert (restarted.main_balance(), restarted.equity(1), restarted.equity(2)) == (
        200.0,
        300.0,
        700.0,
    )


def test_orders_a_crash_left_unsent_are_cancelled_on_the_next_candle_on_the_database(database):
    """A crash after the orders were recorded and before they were sent, then a restart only on
    the next candle: the orders are cancelled (never sent late), on the database's own paper books
    (on SQLite the exchange and the records share the write lock), and trading goes on."""
    desk = Desk(
        small_markets(),
        PARAMS,
        unit_of_work=lambda: SqlAlchemyUnitOfWork(database),
        paper_store=SqlAlchemyPaperStore(database),
    )
    healthy = desk.exchange

    class Dies(type(healthy)):
        def place_order(self, order, protection=None):
            raise Crash("killed while sending")

    desk.exchange = Dies(healthy.costs, healthy.store, healthy.initial_capital)
    times = desk.times()
    desk.restart()
    desk.close_of(times[0])
    with pytest.raises(Crash):
        desk.executor.tick()
    with desk.unit_of_work() as uow:
        stale = uow.orders.unsettled(SUBACCOUNT)
    assert stale and {o.status.value for o in stale} == {"pending"}
    desk.exchange = healthy
    desk.restart()
    desk.close_of(times[1])
    done = desk.executor.tick()
    assert (done.handled, done.skipped) == (1, [])
    with desk.unit_of_work() as uow:
        statuses = {uow.orders.get(o.client_order_id).status.value for o in stale}
    assert statuses == {"cancelled"}
    assert desk.exchange.fills(SUBACCOUNT) == []  # nothing sent late
    for time_ms in times[2:]:
        desk.close_of(time_ms)
        desk.executor.tick()
    assert desk.trades()
