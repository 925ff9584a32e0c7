"""Schema migrations: Alembic run on a database URL (``alembic.ini`` and ``alembic/`` sit at the
root of the source tree)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from sixbtc.adapters.sqlalchemy.engine import create_engine

ALEMBIC_INI = Path(__file__).resolve().parents[4] / "alembic.ini"


def alembic_config(url: str) -> Config:
    """The Alembic configuration of this source tree, pointed at ``url``."""
    if not ALEMBIC_INI.is_file():
        raise FileNotFoundError(
            f"alembic.ini: not found at {ALEMBIC_INI}; run sixbtc from its source tree"
        )
    config = Config(str(ALEMBIC_INI))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``, in one transaction."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision``, in one transaction."""
    command.downgrade(alembic_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None for an empty database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
