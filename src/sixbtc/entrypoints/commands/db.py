"""``sixbtc db``: create or upgrade the database schema, downgrade it, show its revision."""

from __future__ import annotations

import argparse
import sys

from sixbtc import config as configuration
from sixbtc.adapters.sqlalchemy import migrations


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db",
        help="create, upgrade or downgrade the database schema",
        description="Schema migrations of the database named by database.url. `upgrade` creates "
        "a new database or carries one of the original system (back it up first with pg_dump) "
        "to the current schema, in one transaction.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="upgrade to the latest (or a given) revision")
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    upgrade.set_defaults(handler=_upgrade)
    downgrade = actions.add_parser("downgrade", help="downgrade to a revision")
    downgrade.add_argument("revision", help="target revision, e.g. a1f6f9a716cc")
    downgrade.set_defaults(handler=_downgrade)
    current = actions.add_parser("current", help="print the database's revision")
    current.set_defaults(handler=_current)


def _url(args: argparse.Namespace) -> str:
    return configuration.load(args.config).database.url


def _migrate(args: argparse.Namespace, run) -> int:
    try:
        run(_url(args), args.revision)
    except migrations.MigrationRefused as error:
        print(f"sixbtc db: migration refused: {error}", file=sys.stderr)
        return 1
    print(f"database at {migrations.current(_url(args)) or 'base (empty)'}")
    return 0


def _upgrade(args: argparse.Namespace) -> int:
    return _migrate(args, migrations.upgrade)


def _downgrade(args: argparse.Namespace) -> int:
    return _migrate(args, migrations.downgrade)


def _current(args: argparse.Namespace) -> int:
    print(migrations.current(_url(args)) or "base (empty)")
    return 0
