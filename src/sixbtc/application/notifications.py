"""The notifier: tells the operator what the factory did, from the records in the database.

Each pass (:meth:`NotificationFeed.tick`) reads what was recorded since the last one: strategies
moved to LIVE (rotations) and out of it (retirements), fills, halts set and lifted (stale data has
its own topic), services' new errors; after 00:00 UTC, a digest of the day before. Every message is
redacted (no secret, nothing shaped like a private key) and sent to each notifier; at most
``max_per_hour`` messages of one topic go out in an hour, the rest are counted and said in the
next message of that topic. Nothing is sent for what happened before the notifier started, and a
notifier that fails is logged and skipped (the records stay in the database).
"""

from __future__ import annotations

import logging
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from sixbtc.application.errors import NotificationFailed
from sixbtc.application.ports import Clock, Notifier, UnitOfWork
from sixbtc.domain.halt import HaltCause
from sixbtc.domain.notification import Notification, Topic, redacted
from sixbtc.domain.strategy import Status

log = logging.getLogger(__name__)
HOUR = timedelta(hours=1)


@attrs.define
class NotificationFeed:
    """Reads new records each :meth:`tick` and sends them to every notifier."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    notifiers: Sequence[Notifier]
    max_per_hour: int = 20
    secrets: tuple[str, ...] = ()
    _since: datetime | None = attrs.field(default=None, init=False)
    _fills: dict[int, int] = attrs.field(factory=dict, init=False)
    _halts: dict[int, bool] = attrs.field(factory=dict, init=False)
    _errors: dict[tuple[str, str], datetime | None] = attrs.field(factory=dict, init=False)
    _sent: dict[Topic, deque[datetime]] = attrs.field(
        factory=lambda: defaultdict(deque), init=False
    )
    _held_back: dict[Topic, int] = attrs.field(factory=lambda: defaultdict(int), init=False)

    def tick(self) -> int:
        """Send what was recorded since the last pass; how many messages went out."""
        now = self.clock.now()
        with self.unit_of_work() as uow:
            news = self._news(uow, now)
        self._since = now
        return sum(self._send(n) for n in news)

    def _news(self, uow: UnitOfWork, now: datetime) -> list[Notification]:
        first = self._since is None
        news: list[Notification] = []
        if not first:
            assert self._since is not None
            news += self._live_moves(uow)
            if now.date() != self._since.date():
                news.append(self._digest(uow, now))
        news += self._new_fills(uow, announce=not first)
        news += self._halt_changes(uow, now, announce=not first)
        news += self._service_errors(uow, announce=not first)
        return news

    def _live_moves(self, uow: UnitOfWork) -> list[Notification]:
        assert self._since is not None
        found = []
        for name, event in uow.strategies.live_events(self._since):
            if event.to_status is Status.LIVE:
                found.append(
                    Notification(
                        Topic.ROTATION, f"{name} is LIVE", f"{name}: {event.reason}", event.at
                    )
                )
            else:
                found.append(
                    Notification(
                        Topic.RETIREMENT,
                        f"{name} left LIVE",
                        f"{name}: {event.to_status} ({event.reason}) by the {event.service}",
                        event.at,
                    )
                )
        return found

    def _new_fills(self, uow: UnitOfWork, announce: bool) -> list[Notification]:
        found = []
        for account in uow.subaccounts.all():
            after = self._fills.get(account.id)
            if after is None or not announce:
                self._fills[account.id] = uow.fills.last_sequence(account.id)
                continue
            for fill in uow.fills.after(account.id, after):
                why = f" ({fill.reason})" if fill.reason else ""
                found.append(
                    Notification(
                        Topic.FILL,
                        f"subaccount {account.id}: {fill.side} {fill.amount:g} {fill.symbol}{why}",
                        f"{fill.side} {fill.amount:g} {fill.symbol} at {fill.price:g}, fee "
                        f"{fill.fee:.4f}{why}, subaccount {account.id}",
                        fill.at,
                    )
                )
                self._fills[account.id] = fill.sequence
        return found

    def _halt_changes(self, uow: UnitOfWork, now: datetime, announce: bool) -> list[Notification]:
        """Halts set, and halts lifted (also those set and lifted between two passes)."""
        found = []
        for halt in reversed(uow.halts.latest(50)):
            assert halt.id is not None
            was_active = self._halts.get(halt.id)
            self._halts[halt.id] = halt.is_active
            if not announce or was_active is False or was_active == halt.is_active:
                continue
            topic = Topic.STALE_DATA if halt.cause is HaltCause.STALE_DATA else Topic.HALT
            if halt.is_active:
                title, text = f"trading {halt.kind}: {halt.cause}", halt.describe()
            else:
                title = f"{halt.kind} lifted: {halt.cause}"
                text = f"halt {halt.id} ({halt.detail}) lifted by {halt.lifted_by}"
            found.append(Notification(topic, title, text, now))
        return found

    def _service_errors(self, uow: UnitOfWork, announce: bool) -> list[Notification]:
        found = []
        for beat in uow.heartbeats.all():
            key = (beat.service, beat.owner)
            seen = self._errors.get(key)
            self._errors[key] = beat.last_error_at
            if announce and beat.last_error_at and beat.last_error_at != seen:
                found.append(
                    Notification(
                        Topic.SERVICE_ERROR,
                        f"{beat.service} failed",
                        f"{beat.service} ({beat.owner}): {beat.last_error}",
                        beat.last_error_at,
                    )
                )
        return found

    def _digest(self, uow: UnitOfWork, now: datetime) -> Notification:
        day = uow.portfolio.latest()
        counts = ", ".join(f"{s} {uow.strategies.count(s)}" for s in Status)
        halts = uow.halts.active()
        value = (
            f"portfolio {day.last:.2f} (opened {day.opening:.2f}, low {day.low:.2f}, peak "
            f"{day.peak:.2f}) on {day.day.isoformat()}"
            if day is not None
            else "no portfolio value recorded yet"
        )
        halted = "; ".join(h.describe() for h in halts) if halts else "trading runs (no halt)"
        return Notification(
            Topic.DIGEST, "daily digest", f"{value}. Strategies: {counts}. {halted}", now
        )

    def _send(self, notification: Notification) -> int:
        """Send through every notifier unless the topic is over its hourly limit; 1 if sent."""
        sent, topic, now = self._sent[notification.topic], notification.topic, self.clock.now()
        while sent and now - sent[0] >= HOUR:
            sent.popleft()
        if len(sent) >= self.max_per_hour:
            self._held_back[topic] += 1
            return 0
        held = self._held_back.pop(topic, 0)
        if held:
            notification = attrs.evolve(
                notification,
                text=f"{notification.text} ({held} earlier {topic} messages held back by the rate limit)",
            )
        sent.append(now)
        message = redacted(notification, self.secrets)
        for notifier in self.notifiers:
            try:
                notifier.send(message)
            except NotificationFailed as error:
                log.warning(
                    "notification %r not delivered by %s: %s", message.title, notifier.name, error
                )
        return 1
