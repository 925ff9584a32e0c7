"""Subaccounts: one exchange subaccount per LIVE strategy, with the capital it was given."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import attrs


class AccountState(enum.StrEnum):
    """A subaccount's own state (the original system's labels), not a strategy status."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"


@attrs.define
class Subaccount:
    """Subaccount ``id`` (1..max_live_strategies), free when it trades for no strategy."""

    id: int
    created_at: datetime
    allocated_capital: float = 0.0
    strategy_id: uuid.UUID | None = None
    state: AccountState = AccountState.ACTIVE
    current_balance: float | None = None
    peak_balance: float | None = None

    @property
    def is_free(self) -> bool:
        return self.strategy_id is None

    def assign(self, strategy_id: uuid.UUID, capital: float) -> None:
        """Give the subaccount to ``strategy_id`` with ``capital``; it must be free."""
        if not self.is_free:
            raise ValueError(f"subaccount {self.id}: already trades for {self.strategy_id}")
        if not capital > 0:
            raise ValueError(f"capital: {capital}; expected a number > 0")
        self.strategy_id, self.allocated_capital = strategy_id, capital
        self.current_balance = self.peak_balance = capital
        self.state = AccountState.ACTIVE

    def record_balance(self, balance: float) -> None:
        """The subaccount's equity now; the peak follows it up."""
        self.current_balance = balance
        self.peak_balance = max(self.peak_balance or balance, balance)

    def release(self) -> None:
        """Free the subaccount (its strategy stopped trading); its history stays in trades."""
        self.strategy_id = None
        self.state = AccountState.STOPPED
