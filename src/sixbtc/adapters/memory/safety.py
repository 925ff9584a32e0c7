"""In-memory repositories of live trading's safety records: halts, reconciliation issues and the
portfolio's days (see :mod:`sixbtc.adapters.memory.trading` for how records are kept)."""

from __future__ import annotations

from sixbtc.adapters.memory.trading import Keyed
from sixbtc.domain.emergency import PortfolioDay
from sixbtc.domain.halt import Halt
from sixbtc.domain.reconciliation import Issue


class _Numbered(Keyed):
    """Records numbered from 1 as they are added (the id a database would give)."""

    def add(self, record) -> None:  # type: ignore[no-untyped-def]
        record.id = len(self.committed) + len(self.changed) + 1
        super().add(record)


class InMemoryHaltRepository(_Numbered):
    def __init__(self, committed: dict) -> None:
        super().__init__("halt", committed, lambda h: h.id)

    def active(self) -> list[Halt]:
        return sorted(self.where(lambda h: h.is_active), key=lambda h: h.id)

    def latest(self, limit: int) -> list[Halt]:
        return sorted(self.all(), key=lambda h: -h.id)[:limit]


class InMemoryIssueRepository(_Numbered):
    def __init__(self, committed: dict) -> None:
        super().__init__("issue", committed, lambda i: i.id)

    def unresolved(self, subaccount: int | None = None) -> list[Issue]:
        found = self.where(
            lambda i: i.is_open and (subaccount is None or i.subaccount == subaccount)
        )
        return sorted(found, key=lambda i: i.id)


class InMemoryPortfolioRepository(Keyed):
    def __init__(self, committed: dict) -> None:
        super().__init__("portfolio day", committed, lambda d: d.day)

    def latest(self) -> PortfolioDay | None:
        days = self.all()
        return max(days, key=lambda d: d.day) if days else None

    def save(self, day: PortfolioDay) -> None:
        self.changed[day.day] = day
