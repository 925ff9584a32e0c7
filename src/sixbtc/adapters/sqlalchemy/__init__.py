"""SQLAlchemy adapters: tables, repositories and the unit of work on SQLite or PostgreSQL."""

from sixbtc.adapters.sqlalchemy.engine import create_engine
from sixbtc.adapters.sqlalchemy.repositories import (
    SqlAlchemyBacktestRepository,
    SqlAlchemyStrategyRepository,
)
from sixbtc.adapters.sqlalchemy.unit_of_work import SqlAlchemyUnitOfWork

__all__ = [
    "SqlAlchemyBacktestRepository",
    "SqlAlchemyStrategyRepository",
    "SqlAlchemyUnitOfWork",
    "create_engine",
]
