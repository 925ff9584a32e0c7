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

from sixbtc.adapters.sqlalchemy import original_revisions
from sixbtc.adapters.sqlalchemy.engine import create_engine
from sixbtc.application.errors import DatabaseUnavailable, SchemaError

SCRIPTS = Path(__file__).resolve().parent / "alembic"
#: Seconds a migration waits for a lock another session holds before it gives up (PostgreSQL).
LOCK_TIMEOUT_SECONDS = 10
#: Our first revision: the original system's, before its migration 014.
LEGACY_REVISION = original_revisions.OUR_FIRST


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
                f"the original system's {LEGACY_REVISION} to {head()} (`sixbtc db history` lists "
                "them) and carries a database at the original system's later revisions "
                f"({original_revisions.LATER_IDS[0]} to {original_revisions.LATER_IDS[-1]}); a "
                "database at another revision comes from another version of sixbtc or of the "
                "original system. Nothing was changed; back the database up and see the README "
                "(Upgrading a database of the original SixBTC)."
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


def prepare(connection: Connection) -> None:
    """Settings every migration run needs, on a connection before its transaction begins."""
    if connection.dialect.name == "postgresql":
        # Wait this long for a lock another session holds, then give up: the whole migration is
        # rolled back and the caller says so.
        connection.exec_driver_sql(f"SET lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'")
    if connection.dialect.name == "sqlite":
        # Batch migrations rebuild tables; foreign keys must not fire while they do. The pragma
        # only works outside a transaction, so it goes to the driver directly.
        connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")


@contextlib.contextmanager
def _transaction(url: str) -> Iterator[Connection]:
    """One connection in one transaction, committed if the block ends without an error."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:  # closing it uncommitted rolls back
            prepare(connection)
            yield connection
            connection.commit()
    finally:
        engine.dispose()


def _refused(error: Exception, came_from: str | None) -> MigrationRefused:
    text = str(error).removeprefix("migration refused: ")
    if came_from is not None:
        text = f"database at the original system's revision {came_from}: {text}"
    return MigrationRefused(text)


def _run(connection: Connection, url: str, action, revision: str) -> None:
    """Alembic's ``action`` (command.upgrade or downgrade) to ``revision`` on ``connection``, in
    its transaction (see ``alembic/env.py``)."""
    config = alembic_config(url)
    config.attributes["connection"] = connection
    action(config, revision)


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade the database at ``url`` to ``revision``, in one transaction. A database at one of
    the original system's later revisions goes through :func:`original_revisions.enter` first, in
    the same transaction."""
    with _explained(url, f"upgrade of {shown(url)} to {revision}"), _transaction(url) as c:
        found = _version(c)
        if found in original_revisions.EARLIER:
            raise MigrationRefused(original_revisions.earlier_message(found))
        if original_revisions.later(found) and revision in (LEGACY_REVISION, "base"):
            raise MigrationRefused(
                f"the database is at the original system's revision {found}; it can only move "
                f"to a revision after {LEGACY_REVISION}. Nothing was changed."
            )
        before = row_counts(c)
        try:
            came_from = original_revisions.enter(c)
        except original_revisions.BridgeRefused as error:
            raise MigrationRefused(str(error)) from None
        try:
            _run(c, url, command.upgrade, revision)
        except MigrationRefused as error:
            raise _refused(error, came_from) from None
        if came_from is not None:
            before = {original_revisions.RENAMED_TABLES.get(t, t): n for t, n in before.items()}
        check_row_counts(before, row_counts(c))


def downgrade(url: str, revision: str) -> None:
    """Downgrade the database at ``url`` to ``revision``, in one transaction. A database that came
    from one of the original system's later revisions goes back to it when ``revision`` is that
    revision, and is refused a downgrade to ``a1f6f9a716cc`` or base (it never was there)."""
    with _explained(url, f"downgrade of {shown(url)} to {revision}"), _transaction(url) as c:
        came_from = original_revisions.origin(c)
        if original_revisions.later(revision) is not None and revision != came_from:
            raise MigrationRefused(
                f"{revision} is a revision of the original system; this database "
                + (f"came from its {came_from}" if came_from else "did not come from it")
                + ". Nothing was changed."
            )
        _run(c, url, command.downgrade, LEGACY_REVISION if revision == came_from else revision)
        if revision == came_from:
            original_revisions.leave(c)
        elif came_from is not None and _version(c) in (LEGACY_REVISION, None):
            raise MigrationRefused(
                f"the database came from the original system's revision {came_from}, not from "
                f"{LEGACY_REVISION}: `sixbtc db downgrade {came_from}` returns it there. "
                "Nothing was changed."
            )


def _version(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def notes(url: str) -> list[str]:
    """What an upgrade of the database at ``url`` will do beyond our revisions, and what a
    downgrade cannot give back, in sentences for the user (empty: nothing to say). Reads only."""
    if missing_file(url):
        return []
    engine = create_engine(url)
    try:
        with _explained(url, f"reading the revision of {shown(url)}"), engine.connect() as c:
            found = _version(c)
    finally:
        engine.dispose()
    if found in original_revisions.EARLIER:
        raise MigrationRefused(original_revisions.earlier_message(found))
    original = original_revisions.later(found)
    if original is None:
        return []
    said = [
        f"the database is at the original system's revision {found} ({original.does}); it is "
        f"carried through {LEGACY_REVISION}, keeping every row (its own strategy_events table "
        f"becomes legacy_strategy_events); `sixbtc db downgrade {found}` returns it there"
    ]
    if original.downgrade_caveat:
        said.append(
            f"a downgrade back to {found} cannot restore everything: {original.downgrade_caveat}"
        )
    return said


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
