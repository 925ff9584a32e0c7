"""Small builders of domain objects (and of a worker's claims) for tests."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta

from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.application.claims import ClaimKeeper
from sixbtc.application.ports import Clock
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe

T0 = datetime(2026, 1, 1, tzinfo=UTC)
_counter = itertools.count()


def make_strategy(
    status: Status = Status.GENERATED,
    *,
    score: float | None = None,
    strategy_type: str = "MOM",
    timeframe: Timeframe | None = Timeframe.H1,
    last_backtested_at: datetime | None = None,
    strategy_id: uuid.UUID | None = None,
) -> Strategy:
    """A strategy with unique code, put directly in ``status`` (bypassing the transition table)."""
    n = next(_counter)
    strategy = Strategy(
        name=f"s{n}",
        code=f"# strategy {n}\n",
        strategy_type=strategy_type,
        created_at=T0 + timedelta(seconds=n),
        id=strategy_id or uuid.uuid4(),
    )
    strategy.status = status
    strategy.timeframe = timeframe
    strategy.score_backtest = score
    strategy.last_backtested_at = (
        last_backtested_at if score is None else (last_backtested_at or T0)
    )
    return strategy


def claim_keeper(
    store: InMemoryStore,
    clock: Clock,
    owner: str = "tester",
    lease: timedelta = timedelta(minutes=10),
) -> ClaimKeeper:
    """The claims of a worker on an in-memory ``store``."""
    return ClaimKeeper(lambda: InMemoryUnitOfWork(store), clock, owner, lease)
