"""How a worker holds the strategies it claimed: the lease renewed while it works (only a dead
worker's claim expires), released when the work is done, deferred with a back-off when our own
machinery failed (the strategy keeps its status; the others go on)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import attrs

from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.domain.retry import RetryPolicy

log = logging.getLogger(__name__)


@attrs.frozen
class ClaimKeeper:
    """The claims of one ``owner``. ``unit_of_work`` makes a new unit of work for each use (the
    heartbeat runs in a thread of its own, beside the worker's)."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    owner: str
    lease: timedelta
    retry: RetryPolicy = attrs.field(factory=RetryPolicy)

    @property
    def heartbeat(self) -> timedelta:
        """How often a held claim is renewed: three beats per lease (in clock time)."""
        return self.lease / 3

    @contextmanager
    def renewing(self, strategy_ids: Iterable[uuid.UUID]) -> Iterator[None]:
        """Renew the claims on ``strategy_ids`` every :attr:`heartbeat` while the block runs."""
        ids = list(strategy_ids)
        stop = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(ids, stop), name=f"lease:{self.owner}", daemon=True
        )
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join()

    def _beat(self, ids: list[uuid.UUID], stop: threading.Event) -> None:
        wall = self.heartbeat.total_seconds() / self.clock.rate  # a fast clock renews sooner
        while not stop.wait(wall):
            try:
                with self.unit_of_work() as uow:
                    held = uow.claims.renew(ids, self.owner, self.clock.now(), self.lease)
                    uow.commit()
            except Exception:  # the next beat tries again; the lease has two beats left
                log.warning("%s: could not renew its claims", self.owner, exc_info=True)
                continue
            ids = [sid for sid in ids if sid in held]  # released ones are done with

    def release(self, strategy_ids: Iterable[uuid.UUID]) -> None:
        """The work is done (or stopped): drop the claims and any failure record."""
        with self.unit_of_work() as uow:
            for strategy_id in strategy_ids:
                uow.claims.release(strategy_id, self.owner)
            uow.commit()

    def defer(self, strategy_id: uuid.UUID, error: BaseException) -> None:
        """Our machinery failed on this strategy: drop the claim and let it wait its back-off."""
        message = f"{type(error).__name__}: {error}"
        with self.unit_of_work() as uow:
            failure = self.retry.after(uow.claims.failure(strategy_id), message, self.clock.now())
            uow.claims.defer(strategy_id, self.owner, failure)
            uow.commit()
        log.warning(
            "strategy %s: failure %d in a row of our own (%s); retried after %s",
            strategy_id,
            failure.count,
            message,
            failure.retry_after.isoformat(timespec="seconds"),
        )
