"""The service runner: repeats a service's loops, each in its own thread, until SIGTERM or SIGINT;
every loop finishes its current tick. Failed ticks are logged and retried after a back-off."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Sequence

import attrs

from sixbtc.application.errors import DatabaseUnavailable

log = logging.getLogger(__name__)

#: A tick: one unit of work; True when it did some (the loop then goes on at once).
Tick = Callable[[], bool]


@attrs.frozen
class Loop:
    """A named tick that the runner repeats: at once after a tick that did work, after
    ``interval`` seconds (None: the runner's) after one that found nothing to do. A ``delayed``
    loop waits an interval before its first tick, so that ``--once`` never runs it."""

    name: str
    tick: Tick
    interval: float | None = None
    delayed: bool = False


@attrs.define
class ServiceRunner:
    """Runs loops until stopped, each in its own thread (a single loop in the calling thread).

    :meth:`stop`, SIGTERM and SIGINT set the stop flag (``stop_flag``, which long work also
    checks: a backtest's permutation test ends at the next permutation): every loop finishes its
    current tick and returns (a second signal ends the process at once). A tick that raises is logged with its
    traceback and its loop waits ``backoff`` seconds, doubled after each further failure in a row
    up to ``max_backoff``; at most ``database_backoff`` seconds while the database is unavailable,
    so that work resumes within seconds of its return. ``sleep(seconds)`` waits; by default on the
    stop flag, so that a stop cuts every wait short (tests pass a fake one). ``on_tick(loop,
    error)`` hears of every tick (``error`` None when it succeeded): the service's heartbeat."""

    name: str
    interval: float = 10.0
    backoff: float = 5.0
    max_backoff: float = 300.0
    database_backoff: float = 10.0
    sleep: Callable[[float], object] | None = None
    on_tick: Callable[[str, BaseException | None], object] = lambda loop, error: None
    #: The stop flag; shared with the use cases that check it during long work.
    stop_flag: threading.Event = attrs.field(factory=threading.Event)
    _failed: list[str] = attrs.field(factory=list, init=False)

    @property
    def stopping(self) -> bool:
        return self.stop_flag.is_set()

    def stop(self) -> None:
        """Let every loop finish its current tick and return."""
        self.stop_flag.set()

    def run(self, loops: Sequence[Loop], *, once: bool = False) -> int:
        """Repeat ``loops`` until stopped; ``once``: one tick of each loop that is not delayed.
        Returns how many ticks failed."""
        if once:
            loops = [loop for loop in loops if not loop.delayed]
        restore = self._handle_signals()
        log.info("%s: started (%s)", self.name, ", ".join(loop.name for loop in loops))
        try:
            if len(loops) == 1:
                self._repeat(loops[0], once)
            else:
                # Daemon threads: a second SIGINT (KeyboardInterrupt here) ends the process.
                threads = [
                    threading.Thread(
                        target=self._repeat, args=(loop, once), name=loop.name, daemon=True
                    )
                    for loop in loops
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    while thread.is_alive():  # short joins, so that signals reach their handler
                        thread.join(0.5)
        finally:
            restore()
        log.info("%s: stopped", self.name)
        return len(self._failed)

    def _wait(self, seconds: float) -> None:
        if self.stopping:
            return
        if self.sleep is None:
            self.stop_flag.wait(seconds)
        else:
            self.sleep(seconds)

    def _repeat(self, loop: Loop, once: bool) -> None:
        idle = self.interval if loop.interval is None else loop.interval
        failures = 0
        if loop.delayed:
            self._wait(idle)
        while not self.stopping:
            try:
                worked = loop.tick()
            except Exception as error:
                self.on_tick(loop.name, error)
                self._failed.append(loop.name)  # list.append is atomic: loops share the list
                failures += 1
                longest = (
                    self.database_backoff
                    if isinstance(error, DatabaseUnavailable)
                    else self.max_backoff
                )
                pause = min(self.backoff * 2 ** (failures - 1), longest)
                log.exception(
                    "%s: tick failed (%d in a row); next try in %g s", loop.name, failures, pause
                )
                if once:
                    return
                self._wait(pause)
                continue
            self.on_tick(loop.name, None)
            failures = 0
            if once:
                return
            if not worked:
                self._wait(idle)

    def _handle_signals(self) -> Callable[[], None]:
        """Install the SIGTERM and SIGINT handlers (main thread only); returns their undo."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        defaults = {signal.SIGTERM: signal.SIG_DFL, signal.SIGINT: signal.default_int_handler}
        previous = {number: signal.getsignal(number) for number in defaults}

        def handle(number: int, _frame: object) -> None:
            log.info(
                "%s: %s received; stopping after the current ticks (send it again to stop at once)",
                self.name,
                signal.Signals(number).name,
            )
            self.stop()
            for each, default in defaults.items():
                signal.signal(each, default)

        for number in defaults:
            signal.signal(number, handle)

        def restore() -> None:
            for number, handler in previous.items():
                signal.signal(number, handler)

        return restore
