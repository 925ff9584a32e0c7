"""Schema migrations: Alembic run on a database URL. The revisions ship inside the package
(``alembic/`` beside this module), so an installed sixbtc can create and upgrade its database; the
``alembic.ini`` at the root of the source tree points the ``alembic`` command at the same folder."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from sixbtc.adapters.sqlalchemy.engine import create_engine

SCRIPTS = Path(__file__).resolve().parent / "alembic"


class MigrationRefused(RuntimeError):
    """A migration stopped before committing anything: the database is as it was."""


def row_counts(connection: Connection) -> dict[str, int]:
    """The number of rows of every table but Alembic's own."""
    names = sa.inspect(connection).get_table_names()
    return {
        name: connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(name))
        ).scalar_one()
        for name in names
        if name != "alembic_version"
    }


def check_row_counts(before: dict[str, int], after: dict[str, int]) -> None:
    """Refuse a migration that changed the row count of a table it kept."""
    changed = [
        f"{name}: {count} rows before, {after[name]} after"
        for name, count in sorted(before.items())
        if name in after and after[name] != count
    ]
    if changed:
        raise MigrationRefused(
            f"row counts changed ({'; '.join(changed)}); expected every table the migration "
            "keeps to keep every row. Nothing was changed."
        )


def alembic_config(url: str) -> Config:
    """The Alembic configuration of the packaged revisions, pointed at ``url``."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``, in one transaction."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision``, in one transaction."""
    command.downgrade(alembic_config(url), revision)


def head() -> str:
    """The latest revision of the packaged migrations."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None for an empty database."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
