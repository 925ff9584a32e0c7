"""The notifier's feed on the in-memory store: what each record becomes, nothing from before it
started, the hourly limit per topic, the daily digest, and no secret in any message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.factories import make_strategy

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.errors import NotificationFailed
from sixbtc.application.kill_switch import KillSwitchControl
from sixbtc.application.notifications import NotificationFeed
from sixbtc.domain.emergency import EmergencyLimits
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.notification import Topic
from sixbtc.domain.orders import Fill
from sixbtc.domain.position import ExitReason
from sixbtc.domain.strategy import Status
from sixbtc.domain.subaccount import Subaccount

T0 = datetime(2026, 5, 4, 22, 0, tzinfo=UTC)
KEY = "0x" + "5ec2e7" * 10 + "abcd"


class Inbox:
    name = "inbox"

    def __init__(self, fail: bool = False) -> None:
        self.received, self.fail = [], fail

    def send(self, notification) -> None:
        if self.fail:
            raise NotificationFailed("inbox: answered HTTP 503")
        self.received.append(notification)


def setup(max_per_hour: int = 20):
    store, clock = InMemoryStore(), ManualClock(T0)
    uow = lambda: InMemoryUnitOfWork(store)  # noqa: E731
    inbox = Inbox()
    feed = NotificationFeed(
        uow, clock, [Inbox(fail=True), inbox], max_per_hour, secrets=("hunter2",)
    )
    with uow() as u:
        u.subaccounts.add(Subaccount(1, T0))
        u.commit()
    return uow, clock, feed, inbox


def add_fills(uow, first: int, count: int, at: datetime) -> None:
    with uow() as u:
        for n in range(first, first + count):
            reason = ExitReason.TAKE_PROFIT if n % 2 == 0 else None
            u.fills.add(Fill(1, n, f"0x{n:032x}", "BTC", "buy", 0.5, 100.0, 0.03, at, reason))
        u.commit()


def test_records_after_the_start_become_messages_and_older_ones_do_not():
    uow, clock, feed, inbox = setup()
    add_fills(uow, 1, 2, T0)
    strategy = make_strategy(Status.ACTIVE, score=70.0)
    with uow() as u:
        u.strategies.add(strategy)
        u.heartbeats.record(Heartbeat("backtester", "vm:1", T0, T0, 3, 1, "boom", T0))
        u.commit()
    assert feed.tick() == 0  # the past is not announced
    clock.advance(timedelta(minutes=1))
    add_fills(uow, 3, 2, clock.now())
    with uow() as u:
        loaded = u.strategies.get(strategy.id)
        loaded.move_to(Status.LIVE, reason="deployed", at=clock.now(), service="rotator")
        u.strategies.save(loaded)
        u.heartbeats.record(
            Heartbeat(
                "executor",
                "vm:2",
                T0,
                clock.now(),
                5,
                1,
                "ExchangeUnavailable: hunter2 " + KEY,
                clock.now(),
            )
        )
        u.commit()
    switch = KillSwitchControl(uow, clock, EmergencyLimits())
    switch.halt("operator:ana", "maintenance")
    clock.advance(timedelta(minutes=1))
    assert feed.tick() == 5
    assert [(n.topic, n.title) for n in inbox.received] == [
        (Topic.ROTATION, f"{strategy.name} is LIVE"),
        (Topic.FILL, "subaccount 1: buy 0.5 BTC"),
        (Topic.FILL, "subaccount 1: buy 0.5 BTC (tp)"),
        (Topic.HALT, "trading halt: operator"),
        (Topic.SERVICE_ERROR, "executor failed"),
    ]
    error = inbox.received[-1].text
    assert "hunter2" not in error and KEY[2:] not in error and error.count("[redacted]") == 2
    switch.resume("operator:ana")
    clock.advance(timedelta(minutes=1))
    assert feed.tick() == 1
    assert inbox.received[-1].title == "halt lifted: operator"
    assert feed.tick() == 0  # nothing new


def test_a_topic_over_its_hourly_limit_waits_and_says_how_many_were_held_back():
    uow, clock, feed, inbox = setup(max_per_hour=3)
    feed.tick()
    add_fills(uow, 1, 5, clock.now())
    clock.advance(timedelta(minutes=1))
    assert feed.tick() == 3
    clock.advance(timedelta(hours=1))
    add_fills(uow, 6, 1, clock.now())
    assert feed.tick() == 1
    assert inbox.received[-1].text.endswith("(2 earlier fill messages held back by the rate limit)")


def test_a_digest_of_the_day_goes_out_after_midnight():
    uow, clock, feed, inbox = setup()
    switch = KillSwitchControl(uow, clock, EmergencyLimits())
    switch.mark(1000.0)
    clock.advance(timedelta(hours=1))
    switch.mark(990.0)
    feed.tick()
    clock.advance(timedelta(hours=2, minutes=1))  # past 00:00 UTC
    assert feed.tick() == 1
    (digest,) = inbox.received
    assert digest.topic is Topic.DIGEST
    assert digest.text.startswith(
        "portfolio 990.00 (opened 1000.00, low 990.00, peak 1000.00) on 2026-05-04."
    )
    assert "trading runs (no halt)" in digest.text
