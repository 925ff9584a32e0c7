"""The database schema of ``database.url`` as the entrypoints see it: where it is, whether it is
current, and the migrations to move it (:mod:`.migrations`)."""

from __future__ import annotations

import attrs

from sixbtc.adapters.sqlalchemy import migrations, original_revisions
from sixbtc.application.errors import SchemaError


@attrs.frozen
class Schema:
    """The schema of the database at ``url``."""

    url: str

    @property
    def shown_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return migrations.shown(self.url)

    def current(self) -> str | None:
        """The revision the database is at (None: empty or no database yet)."""
        return migrations.current(self.url)

    def head(self) -> str:
        """The revision this version of sixbtc needs."""
        return migrations.head()

    def history(self) -> list[tuple[str, str]]:
        """The revisions this version knows, oldest first, with their descriptions."""
        return migrations.history()

    def upgrade_notes(self) -> list[str]:
        """What an upgrade does beyond our revisions (a database of the original system at one of
        its later revisions) and what a downgrade could not give back; reads only."""
        return migrations.notes(self.url)

    def upgrade(self, revision: str = "head") -> None:
        migrations.upgrade(self.url, revision)

    def downgrade(self, revision: str) -> None:
        migrations.downgrade(self.url, revision)

    def describe(self) -> str:
        """Where the database stands, in words: its revision, or why there is none to use."""
        missing = migrations.missing_file(self.url)
        if missing is not None:
            return f"base (empty): no database at {missing} yet (`sixbtc db upgrade` creates it)"
        at = self.current()
        if at is None:
            return "base (empty)"
        if original_revisions.later(at) is not None:
            return f"{at} (a later revision of the original system; `sixbtc db upgrade` carries it)"
        if not migrations.known(at):
            return f"{at} (not a revision this version of sixbtc knows; see `sixbtc db history`)"
        return at

    def require_current(self) -> None:
        """Raise :class:`SchemaError` (the reason and what to do) unless the database is at the
        latest revision: what reads it needs the schema it knows."""
        problem = self.outdated()
        if problem:
            raise SchemaError(problem)

    def outdated(self) -> str | None:
        """Why services may not run on this database (None: it is at the latest revision)."""
        if self.current() == self.head():
            return None
        return (
            f"the database {self.shown_url} is at revision {self.describe()}; this version "
            f"needs {self.head()}. Services and reports never migrate: run `sixbtc db upgrade` (back the "
            "database up first), then try again."
        )
