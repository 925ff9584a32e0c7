"""The services on a SQLite file with the small end-to-end configuration: a real process stopped by
a signal, --once, the refusal of an old schema, the validator's back-pressure and the backtester's
worker threads."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from dependency_injector import providers
from tests.e2e.test_pipeline_pass import NOW, small_environment

from sixbtc import config as configuration
from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.containers import build, use_cases
from sixbtc.domain.strategy import Status
from sixbtc.entrypoints import services
from sixbtc.entrypoints.runner import ServiceRunner


@pytest.fixture
def environment(tmp_path, monkeypatch) -> dict[str, str]:
    """The small configuration in this process's environment, on an upgraded database."""
    variables = small_environment(tmp_path)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    migrations.upgrade(variables["SIXBTC_DATABASE__URL"])
    return variables


def count(status: Status) -> int:
    """How many strategies of the configured database are in ``status``."""
    engine = create_engine(configuration.load(None).database.url)
    try:
        with SqlAlchemyUnitOfWork(engine) as uow:
            return uow.strategies.count(status)
    finally:
        engine.dispose()


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_running_service_cleanly(environment, number):
    env = {**os.environ, "SIXBTC_PIPELINE__QUEUE_LIMITS__GENERATED": "5"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sixbtc.entrypoints.cli", "service", "generator"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while count(Status.GENERATED) < 5:  # the first tick filled the queue; now it idles
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the generator added nothing within 60 s"
            time.sleep(0.1)
        process.send_signal(number)
        _, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert f"{signal.Signals(number).name} received" in stderr
    assert "generator: stopped" in stderr
    assert count(Status.GENERATED) == 5


def test_once_runs_exactly_one_tick(environment):
    assert services.generator(["--once"]) == 0
    assert count(Status.GENERATED) == services.GENERATOR_BATCH  # a second tick would add more


@pytest.mark.parametrize("revision", [None, "a1f6f9a716cc"])
def test_a_service_refuses_a_database_below_the_latest_revision(
    tmp_path, monkeypatch, capsys, revision
):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    if revision:
        migrations.upgrade(url, revision)
    monkeypatch.setenv("SIXBTC_DATABASE__URL", url)

    assert services.generator(["--once"]) == 1

    error = capsys.readouterr().err
    assert f"at revision {revision or 'base (empty)'}" in error
    assert migrations.head() in error
    assert "sixbtc db upgrade" in error
    assert migrations.current(url) == revision


def test_the_validator_service_pauses_at_the_validated_queue_limit(environment, monkeypatch):
    monkeypatch.setenv("SIXBTC_PIPELINE__QUEUE_LIMITS__VALIDATED", "2")
    monkeypatch.setenv("SIXBTC_PIPELINE__QUEUE_LIMITS__GENERATED", "5")
    assert services.generator(["--once"]) == 0

    assert services.validator(["--once"]) == 0
    assert count(Status.GENERATED) == 3  # it claimed only the room left in VALIDATED
    validated = count(Status.VALIDATED)
    assert services.validator(["--once"]) == 0
    assert count(Status.GENERATED) == 3 - (2 - validated)
    assert count(Status.VALIDATED) == 2 or count(Status.GENERATED) == 0


def test_two_backtester_threads_take_every_validated_strategy_once(environment, caplog):
    settings = configuration.load(
        None,
        environ={
            **environment,
            "SIXBTC_PIPELINE__QUEUE_LIMITS__GENERATED": "6",
            "SIXBTC_BACKTESTER__THREADS__VALIDATED": "1",
            "SIXBTC_BACKTESTER__THREADS__RETEST": "1",
        },
    )
    container = build(settings)
    container.clock.override(providers.Object(ManualClock(NOW)))
    pipeline = use_cases(container)
    pipeline.generate().run(batch=6)
    pipeline.validate().run(limit=6)
    with container.unit_of_work() as uow:
        waiting = {s.name for s in uow.strategies.by_status(Status.VALIDATED)}
    assert len(waiting) >= 2, "the catalogue's first strategies pass the validator"

    runner = ServiceRunner("backtester", interval=0.05)

    def stop_when_drained() -> None:
        while count(Status.VALIDATED) and not runner.stopping:
            time.sleep(0.1)
        runner.stop()

    watcher = threading.Thread(target=stop_when_drained)
    loops = services.BACKTESTER.loops(pipeline, settings)
    assert [loop.name for loop in loops] == ["backtester-1", "retest-1", "pool"]
    try:
        with caplog.at_level(logging.INFO, logger="sixbtc.entrypoints.services"):
            watcher.start()
            assert runner.run(loops) == 0
    finally:
        watcher.join(timeout=10)
        container.shutdown_resources()

    done = [r for r in caplog.records if "initial" in r.getMessage()]
    taken = [next(name for name in waiting if f" {name}:" in r.getMessage()) for r in done]
    assert sorted(taken) == sorted(waiting)  # each one, exactly once
    assert {r.threadName for r in done} <= {"backtester-1", "retest-1"}
    with container.unit_of_work() as uow:
        assert uow.strategies.count(Status.VALIDATED) == 0
        for strategy in uow.strategies.by_status(Status.ACTIVE) + uow.strategies.by_status(
            Status.RETIRED
        ):
            if strategy.name in waiting:
                left = [
                    e
                    for e in uow.strategies.events(strategy.id)
                    if e.from_status is Status.VALIDATED
                ]
                assert len(left) == 1


def test_the_executor_service_trades_a_live_strategy_through_the_sandbox(environment, caplog):
    """Wired as ``sixbtc service executor`` runs it: the container's paper exchange on the
    database, the synthetic market continuing with the clock, strategy code in the sandbox. A
    second executor (a restart) goes on from the database."""
    from tests.e2e.test_research_gates import PLANTED_REVERSAL

    from sixbtc.domain.backtest import ExecutionParameters
    from sixbtc.domain.strategy import Strategy
    from sixbtc.domain.subaccount import Subaccount
    from sixbtc.domain.timeframe import Timeframe

    settings = configuration.load(
        None, environ={**environment, "SIXBTC_VALIDATOR__LIVE_HISTORY_BARS": "300"}
    )
    clock = ManualClock(NOW + timedelta(hours=6))
    strategy = Strategy("Reversal", PLANTED_REVERSAL, "REV", NOW)
    strategy.status, strategy.timeframe = Status.LIVE, Timeframe.M15
    strategy.execution = ExecutionParameters(0.03, 0.02, 2.0, 8)
    strategy.coins = ("BTC", "ETH", "SOL")
    for run in range(2):
        container = build(settings)
        container.clock.override(providers.Object(clock))
        pipeline = use_cases(container)
        try:
            if run == 0:
                with container.unit_of_work() as uow:
                    uow.strategies.add(strategy)
                    account = Subaccount(1, NOW)
                    account.assign(strategy.id, 1000.0)
                    uow.subaccounts.add(account)
                    uow.commit()
                container.exchange().transfer(1, 1000.0, "fund-1")
            (loop,) = services.EXECUTOR.loops(pipeline, settings)
            for _ in range(24):  # six hours of 15m candles per run
                clock.advance(timedelta(minutes=15))
                with caplog.at_level(logging.INFO, logger="sixbtc.entrypoints.services"):
                    assert loop.tick() is True
            equity = container.exchange().equity(1)
        finally:
            container.shutdown_resources()
    with SqlAlchemyUnitOfWork(create_engine(settings.database.url)) as uow:
        trades = uow.trades.for_strategy(strategy.id)
        account = uow.subaccounts.get(1)
        live = uow.strategies.get(strategy.id)
    assert live.status is Status.LIVE
    assert len(trades) >= 3 and {t.symbol for t in trades} >= {"BTC", "ETH"}
    assert any(not t.is_open for t in trades)
    assert account.current_balance == pytest.approx(equity)
    assert "orders sent" in caplog.text
