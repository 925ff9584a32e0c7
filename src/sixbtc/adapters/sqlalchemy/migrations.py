"""Schema migrations: Alembic run on a database URL. The revisions ship inside the package
(``alembic/`` beside this module), so an installed sixbtc can create and upgrade its database; the
``alembic.ini`` at the root of the source tree points the ``alembic`` command at the same folder."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import Connection, make_url

from sixbtc.adapters.sqlalchemy.engine import create_engine
from sixbtc.application.errors import DatabaseUnavailable, SchemaError

SCRIPTS = Path(__file__).resolve().parent / "alembic"
#: Seconds a migration waits for a lock another session holds before it gives up (PostgreSQL).
LOCK_TIMEOUT_SECONDS = 10


class MigrationRefused(SchemaError):
    """A migration stopped before committing anything: the database is as it was."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"migration refused: {reason}")


def shown(url: str) -> str:
    """``url`` with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


def _first_line(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    return str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__


def _reachable(url: str) -> None:
    """Connect once, so that an unreachable database is said plainly (DatabaseUnavailable)."""
    if missing_file(url):
        return  # SQLite creates it; its folder was checked with the configuration
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise DatabaseUnavailable(
            f"cannot reach the database {shown(url)}: {_first_line(error)}"
        ) from None
    finally:
        engine.dispose()


@contextlib.contextmanager
def _explained(url: str, action: str) -> Iterator[None]:
    """Map an unreachable database, an unknown revision and a lock timeout to errors that say
    what to do; any other failure of a migration propagates as it is (it rolled back)."""
    _reachable(url)
    try:
        yield
    except CommandError as error:
        text = str(error)
        if "Can't locate revision" in text:
            raise SchemaError(
                f"{action}: {text.rstrip('.')}. This version of sixbtc knows the revisions from "
                f"the original system's a1f6f9a716cc to {head()} (`sixbtc db history` lists "
                "them); a database at another revision comes from another version of sixbtc or "
                "of the original system. Nothing was changed; back the database up and see the "
                "README (Upgrading a database of the original SixBTC)."
            ) from None
        raise SchemaError(f"{action}: {text}. Nothing was changed.") from None
    except sa.exc.OperationalError as error:
        if "lock timeout" not in _first_line(error):
            raise
        raise SchemaError(
            f"{action}: cancelled after waiting {LOCK_TIMEOUT_SECONDS} s for a lock that "
            "another session holds on the database (stop the services first). Nothing was "
            "changed."
        ) from None


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
    with _explained(url, f"upgrade of {shown(url)} to {revision}"):
        command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision``, in one transaction."""
    with _explained(url, f"downgrade of {shown(url)} to {revision}"):
        command.downgrade(alembic_config(url), revision)


def known(revision: str) -> bool:
    """Whether ``revision`` is one of the packaged migrations."""
    try:
        return ScriptDirectory.from_config(alembic_config("")).get_revision(revision) is not None
    except CommandError:
        return False


def missing_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` when it does not exist yet (None otherwise)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path.resolve()


def head() -> str:
    """The latest revision of the packaged migrations."""
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def current(url: str) -> str | None:
    """The revision the database at ``url`` is at, or None for an empty database (or a SQLite
    file that does not exist yet, which is not created)."""
    if missing_file(url):
        return None
    engine = create_engine(url)
    try:
        with _explained(url, f"reading the revision of {shown(url)}"), engine.connect() as c:
            return MigrationContext.configure(c).get_current_revision()
    finally:
        engine.dispose()


def history() -> list[tuple[str, str]]:
    """Every packaged revision, oldest first, with the first line of its description."""
    scripts = ScriptDirectory.from_config(alembic_config(""))
    found = [(s.revision, (s.doc or "").splitlines()[0]) for s in scripts.walk_revisions()]
    return found[::-1]
