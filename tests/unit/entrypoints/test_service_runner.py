"""The shared service runner: its schedule, failed ticks, --once and stop, with a fake sleep."""

from __future__ import annotations

import logging
import threading

from sixbtc.application.errors import DatabaseUnavailable
from sixbtc.entrypoints.runner import Loop, ServiceRunner


class ScriptedTick:
    """A tick that plays ``script`` (True: did work, False: idle, an exception: raise) and stops
    the runner once the script is over."""

    def __init__(self, runner: ServiceRunner, *script: bool | Exception) -> None:
        self.runner = runner
        self.script = list(script)
        self.calls = 0

    def __call__(self) -> bool:
        self.calls += 1
        step = self.script.pop(0)
        if not self.script:
            self.runner.stop()
        if isinstance(step, Exception):
            raise step
        return step


def runner_with_fake_sleep(**settings) -> tuple[ServiceRunner, list[float]]:
    slept: list[float] = []
    return ServiceRunner("test", sleep=slept.append, **settings), slept


def test_idle_ticks_sleep_the_interval_and_busy_ticks_go_on_at_once():
    runner, slept = runner_with_fake_sleep(interval=7.0)
    tick = ScriptedTick(runner, True, True, False, True, False, False)
    runner.run([Loop("work", tick)])
    assert tick.calls == 6
    assert slept == [7.0, 7.0]  # the last idle tick stopped the runner: no sleep after it


def test_a_loop_interval_overrides_the_runner_interval():
    runner, slept = runner_with_fake_sleep(interval=7.0)
    runner.run([Loop("work", ScriptedTick(runner, False, False), interval=2.5)])
    assert slept == [2.5]


def test_a_failed_tick_is_logged_with_its_traceback_and_the_loop_goes_on(caplog):
    runner, slept = runner_with_fake_sleep(interval=7.0, backoff=3.0)
    tick = ScriptedTick(runner, RuntimeError("database went away"), True, False)
    with caplog.at_level(logging.ERROR, logger="sixbtc.entrypoints.runner"):
        failed = runner.run([Loop("work", tick)])
    assert tick.calls == 3
    assert failed == 1
    assert slept == [3.0]
    [record] = caplog.records
    assert "work: tick failed" in record.getMessage()
    assert record.exc_info[0] is RuntimeError
    assert "database went away" in caplog.text


def test_the_back_off_doubles_with_failures_in_a_row_up_to_its_cap_and_resets_after_success():
    runner, slept = runner_with_fake_sleep(interval=7.0, backoff=1.0, max_backoff=5.0)
    boom = ValueError("boom")
    tick = ScriptedTick(runner, boom, boom, boom, boom, boom, True, boom, False)
    assert runner.run([Loop("work", tick)]) == 6
    assert slept == [1.0, 2.0, 4.0, 5.0, 5.0, 1.0]


def test_once_runs_exactly_one_tick_of_each_loop_that_is_not_delayed():
    runner, slept = runner_with_fake_sleep()
    calls: list[str] = []
    loops = [
        Loop(name, lambda name=name: calls.append(name) or True, delayed=name == "later")
        for name in ("a", "b", "later")
    ]
    assert runner.run(loops, once=True) == 0
    assert sorted(calls) == ["a", "b"]
    assert slept == []


def test_once_reports_a_failed_tick_without_retrying_it():
    runner, slept = runner_with_fake_sleep()
    tick = ScriptedTick(runner, RuntimeError("no"), True)
    assert runner.run([Loop("work", tick)], once=True) == 1
    assert tick.calls == 1
    assert slept == []


def test_a_delayed_loop_waits_its_interval_before_its_first_tick():
    runner, slept = runner_with_fake_sleep(interval=7.0)
    tick = ScriptedTick(runner, False)
    runner.run([Loop("pool", tick, interval=900.0, delayed=True)])
    assert slept == [900.0]
    assert tick.calls == 1


def test_stop_ends_every_loop_after_its_current_tick_and_cuts_idle_waits_short():
    runner = ServiceRunner("test", interval=3600.0)  # the real sleep: waits on the stop flag
    started = threading.Barrier(3)
    ticks = {"a": 0, "b": 0}

    def tick(name: str) -> bool:
        ticks[name] += 1
        if ticks[name] == 1:
            started.wait(timeout=10)
        return False

    thread = threading.Thread(
        target=runner.run, args=([Loop("a", lambda: tick("a")), Loop("b", lambda: tick("b"))],)
    )
    thread.start()
    started.wait(timeout=10)
    runner.stop()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert ticks == {"a": 1, "b": 1}


def test_while_the_database_is_unavailable_the_back_off_stays_short():
    runner, slept = runner_with_fake_sleep(backoff=5.0, max_backoff=300.0, database_backoff=10.0)
    down = [DatabaseUnavailable("database unavailable: connection refused")] * 5
    tick = ScriptedTick(runner, *down, RuntimeError("a bug"), RuntimeError("a bug"), True)
    runner.run([Loop("work", tick)])
    assert slept == [5.0, 10.0, 10.0, 10.0, 10.0, 160.0, 300.0]


def test_every_tick_is_reported_to_the_heartbeat_with_its_error():
    heard: list[tuple[str, str | None]] = []
    runner, _ = runner_with_fake_sleep(
        on_tick=lambda loop, error: heard.append((loop, error and str(error)))
    )
    runner.run([Loop("work", ScriptedTick(runner, True, RuntimeError("boom"), False))])
    assert heard == [("work", None), ("work", "boom"), ("work", None)]
