"""Services record their heartbeats: each process's latest tick and latest error, written at most
every ``every`` of wall time (and at once after a failed tick), never failing a tick itself."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

import attrs

from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.domain.heartbeat import Heartbeat

log = logging.getLogger(__name__)


@attrs.define
class HeartbeatRecorder:
    """The heartbeat of one process of ``service`` (``owner`` is ``host:pid``), kept by the
    service runner after every tick of every loop (threads share it)."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    service: str
    owner: str
    every: timedelta = timedelta(seconds=10)
    _heartbeat: Heartbeat | None = attrs.field(default=None, init=False)
    _written: Heartbeat | None = attrs.field(default=None, init=False)
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)

    def ticked(self, loop: str, error: BaseException | None = None) -> None:
        """Count a tick of ``loop`` (failed with ``error``); write when due."""
        now = self.clock.now()
        with self._lock:
            if self._heartbeat is None:
                self._heartbeat = Heartbeat(self.service, self.owner, now, now)
            text = None if error is None else f"{loop}: {type(error).__name__}: {error}"[:2000]
            self._heartbeat = self._heartbeat.ticked(now, text)
            due = (
                error is not None
                or self._written is None
                or now - self._written.beat_at >= self.every
            )
            if due:
                self._write(self._heartbeat)

    def stopped(self) -> None:
        """Record that the process stopped cleanly (nothing when it never ticked)."""
        with self._lock:
            if self._heartbeat is not None:
                self._heartbeat = self._heartbeat.stopped(self.clock.now())
                self._write(self._heartbeat)

    def _write(self, heartbeat: Heartbeat) -> None:
        try:
            with self.unit_of_work() as uow:
                uow.heartbeats.record(heartbeat)
                uow.commit()
        except Exception as error:  # a heartbeat never fails the work it reports on
            log.warning("%s: heartbeat not recorded: %s", self.service, error)
            return
        self._written = heartbeat
