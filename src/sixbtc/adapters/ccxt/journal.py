"""The journal of a live exchange's transfers: Hyperliquid takes no client id on a transfer, so
each is written down before it is sent and marked done once the venue confirms it. A transfer
journalled but not confirmed (its answer was lost) is looked up in the venue's ledger before it is
sent again. In memory (tests) or in the ``exchange_requests`` table."""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Protocol

import attrs
import sqlalchemy as sa

from sixbtc.adapters.sqlalchemy.tables import exchange_requests

#: ``kind`` of a transfer sent whose outcome is not known yet, and of one the venue confirmed.
SENT, DONE = "transfer", "transfer_done"


@attrs.frozen
class JournalEntry:
    """A transfer of ``amount`` (positive: main account to subaccount) journalled at
    ``created_at``; ``done`` once the venue confirmed it."""

    request_id: str
    subaccount: int
    amount: float
    created_at: datetime
    done: bool = False


class TransferJournal(Protocol):
    """Where transfers are written down before they are sent."""

    def find(self, request_id: str) -> JournalEntry | None:
        """The entry of ``request_id``, or None when it was never journalled."""
        ...

    def begin(self, entry: JournalEntry) -> None:
        """Write ``entry`` down (before it is sent); kept at once."""
        ...

    def done(self, request_id: str) -> None:
        """The venue confirmed the transfer: it is never sent again."""
        ...


class InMemoryTransferJournal:
    """A journal in this process's memory."""

    def __init__(self) -> None:
        self._entries: dict[str, JournalEntry] = {}
        self._lock = threading.Lock()

    def find(self, request_id: str) -> JournalEntry | None:
        with self._lock:
            return self._entries.get(request_id)

    def begin(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries[entry.request_id] = entry

    def done(self, request_id: str) -> None:
        with self._lock:
            self._entries[request_id] = attrs.evolve(self._entries[request_id], done=True)


class SqlAlchemyTransferJournal:
    """A journal in the ``exchange_requests`` table, one transaction per call."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def find(self, request_id: str) -> JournalEntry | None:
        table = exchange_requests
        query = sa.select(table).where(table.c.request_id == request_id)
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            return None
        return JournalEntry(
            row["request_id"],
            row["subaccount_id"],
            row["amount"],
            row["created_at"],
            done=row["kind"] == DONE,
        )

    def begin(self, entry: JournalEntry) -> None:
        with self._engine.begin() as connection:
            connection.execute(
                exchange_requests.insert().values(
                    request_id=entry.request_id,
                    subaccount_id=entry.subaccount,
                    kind=DONE if entry.done else SENT,
                    amount=entry.amount,
                    created_at=entry.created_at,
                )
            )

    def done(self, request_id: str) -> None:
        table = exchange_requests
        with self._engine.begin() as connection:
            connection.execute(
                table.update().where(table.c.request_id == request_id).values(kind=DONE)
            )
