"""The database schema of ``database.url`` as the entrypoints see it: where it is, whether it is
current, and the migrations to move it (:mod:`.migrations`)."""

from __future__ import annotations

import attrs
from sqlalchemy.engine import make_url

from sixbtc.adapters.sqlalchemy import migrations


@attrs.frozen
class Schema:
    """The schema of the database at ``url``."""

    url: str

    @property
    def shown_url(self) -> str:
        """The URL with its password hidden, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def current(self) -> str | None:
        """The revision the database is at (None: empty)."""
        return migrations.current(self.url)

    def head(self) -> str:
        """The revision this version of sixbtc needs."""
        return migrations.head()

    def upgrade(self, revision: str = "head") -> None:
        migrations.upgrade(self.url, revision)

    def downgrade(self, revision: str) -> None:
        migrations.downgrade(self.url, revision)

    def outdated(self) -> str | None:
        """Why services may not run on this database (None: it is at the latest revision)."""
        at, latest = self.current(), self.head()
        if at == latest:
            return None
        return (
            f"the database {self.shown_url} is at revision {at or 'base (empty)'}; this version "
            f"needs {latest}. Services never migrate: run `sixbtc db upgrade` (back the database "
            "up first), then start them again."
        )
