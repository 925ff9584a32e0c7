"""In-memory adapters: fast fakes for tests and for an offline demo."""

from sixbtc.adapters.memory.market_data import InMemoryMarketData
from sixbtc.adapters.memory.unit_of_work import InMemoryStore, InMemoryUnitOfWork

__all__ = ["InMemoryMarketData", "InMemoryStore", "InMemoryUnitOfWork"]
