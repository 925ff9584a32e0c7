"""In-memory repositories of live trading's records (subaccounts, orders, fills, trades) and of
the services' heartbeats over an
:class:`~sixbtc.adapters.memory.unit_of_work.InMemoryStore`: a unit of work sees its own changes
and the store's committed records; commit publishes its changes, anything else discards them."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sixbtc.application.errors import DuplicateRecord, NotFound
from sixbtc.domain.heartbeat import Heartbeat
from sixbtc.domain.orders import Fill, Order, OrderStatus
from sixbtc.domain.subaccount import Subaccount
from sixbtc.domain.trade import Trade

T = TypeVar("T")


class Keyed(Generic[T]):
    """Records by key: the committed ones (``committed``, shared) and this unit of work's."""

    def __init__(self, what: str, committed: dict, key: Callable[[T], Hashable]) -> None:
        self.what, self.committed, self.key = what, committed, key
        self.changed: dict[Hashable, T] = {}

    def add(self, record: T) -> None:
        key = self.key(record)
        if key in self.changed or key in self.committed:
            raise DuplicateRecord(f"{self.what} {key} already exists")
        self.changed[key] = record

    def get(self, key: Hashable) -> T:
        if key not in self.changed:
            if key not in self.committed:
                raise NotFound(f"{self.what} {key} does not exist")
            self.changed[key] = copy.copy(self.committed[key])
        return self.changed[key]

    def save(self, record: T) -> None:
        key = self.key(record)
        if key not in self.changed and key not in self.committed:
            raise NotFound(f"{self.what} {key} does not exist")
        self.changed[key] = record

    def all(self) -> list[T]:
        return self.where(lambda record: True)

    def where(self, wanted: Callable[[T], bool]) -> list[T]:
        """The records ``wanted`` accepts (only those are copied into the unit of work)."""
        return [
            self.get(key)
            for key in {**self.committed, **self.changed}
            if wanted(self.changed[key] if key in self.changed else self.committed[key])
        ]

    def publish(self) -> None:
        self.committed.update({key: copy.copy(record) for key, record in self.changed.items()})


class InMemorySubaccountRepository(Keyed[Subaccount]):
    def __init__(self, committed: dict) -> None:
        super().__init__("subaccount", committed, lambda s: s.id)

    def all(self) -> list[Subaccount]:
        return sorted(super().all(), key=lambda s: s.id)


class InMemoryOrderRepository(Keyed[Order]):
    def __init__(self, committed: dict) -> None:
        super().__init__("order", committed, lambda o: o.client_order_id)

    def unsettled(self, subaccount: int) -> list[Order]:
        found = self.where(
            lambda o: (
                o.request.subaccount == subaccount
                and o.status in (OrderStatus.PENDING, OrderStatus.OPEN)
            )
        )
        return sorted(found, key=lambda o: (o.created_at, o.client_order_id))

    def find(self, client_order_id: str) -> Order | None:
        try:
            return self.get(client_order_id)
        except NotFound:
            return None


class InMemoryFillRepository(Keyed[Fill]):
    def __init__(self, committed: dict) -> None:
        super().__init__("fill", committed, lambda f: (f.subaccount, f.sequence))

    def last_sequence(self, subaccount: int) -> int:
        return max(
            (f.sequence for f in self.where(lambda f: f.subaccount == subaccount)), default=0
        )

    def after(self, subaccount: int, sequence: int) -> list[Fill]:
        found = self.where(lambda f: f.subaccount == subaccount and f.sequence > sequence)
        return sorted(found, key=lambda f: f.sequence)

    def for_order(self, client_order_id: str) -> list[Fill]:
        found = self.where(lambda f: f.client_order_id == client_order_id)
        return sorted(found, key=lambda f: (f.subaccount, f.sequence))


class InMemoryTradeRepository(Keyed[Trade]):
    def __init__(self, committed: dict) -> None:
        super().__init__("trade", committed, lambda t: t.id)

    def for_strategy(self, strategy_id: uuid.UUID) -> list[Trade]:
        return self._sorted(self.where(lambda t: t.strategy_id == strategy_id))

    def open_for(self, strategy_id: uuid.UUID) -> list[Trade]:
        return self._sorted(self.where(lambda t: t.strategy_id == strategy_id and t.is_open))

    def count(self) -> int:
        return len({**self.committed, **self.changed})

    @staticmethod
    def _sorted(trades: list[Trade]) -> list[Trade]:
        return sorted(trades, key=lambda t: (t.entry_time, t.id.int))


class InMemoryHeartbeatRepository(Keyed[Heartbeat]):
    def __init__(self, committed: dict) -> None:
        super().__init__("heartbeat", committed, lambda h: (h.service, h.owner))

    def record(self, heartbeat: Heartbeat) -> None:
        self.changed[self.key(heartbeat)] = heartbeat

    def all(self) -> list[Heartbeat]:
        return sorted(super().all(), key=lambda h: (h.service, h.owner))
