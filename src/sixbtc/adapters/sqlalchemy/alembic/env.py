"""Alembic environment: every run of upgrades or downgrades is ONE transaction, refused (rolled
back) if a table it keeps ends with another number of rows than it had.

The URL comes from ``-x url=...``, else ``sqlalchemy.url`` (set by ``sixbtc db``; for the plain
``alembic`` command, in ``alembic.ini``). A caller may also hand over an open connection in
``config.attributes["connection"]``; the revisions then run inside that connection's transaction.
"""

from __future__ import annotations

from alembic import context

from sixbtc.adapters.sqlalchemy.engine import create_engine
from sixbtc.adapters.sqlalchemy.migrations import (
    check_row_counts,
    prepare,
    row_counts,
)


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("no database URL: pass -x url=... or set sqlalchemy.url in alembic.ini")
    return url


def _run(connection) -> None:
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        before = row_counts(connection)
        context.run_migrations()
        check_row_counts(before, row_counts(connection))


def run_migrations_online() -> None:
    given = context.config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = create_engine(_url())
    try:
        with engine.connect() as connection:
            prepare(connection)
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("sixbtc migrations run online only: give a database URL")
run_migrations_online()
