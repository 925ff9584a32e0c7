"""``sixbtc db``: create or upgrade the database schema, downgrade it, show its revision."""

from __future__ import annotations

import argparse

from sixbtc.entrypoints import wiring


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "db",
        help="create, upgrade or downgrade the database schema",
        description="Schema migrations of the database named by database.url. `upgrade` creates "
        "a new database or carries one of the original system (back it up first with pg_dump) "
        "to the current schema, in one transaction: on any failure nothing is changed.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    upgrade = actions.add_parser("upgrade", help="upgrade to the latest (or a given) revision")
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    upgrade.set_defaults(handler=_upgrade)
    downgrade = actions.add_parser("downgrade", help="downgrade to a revision")
    downgrade.add_argument("revision", help="target revision, e.g. a1f6f9a716cc")
    downgrade.set_defaults(handler=_downgrade)
    current = actions.add_parser("current", help="print the database's revision (creates nothing)")
    current.set_defaults(handler=_current)
    history = actions.add_parser("history", help="list the revisions this version knows")
    history.set_defaults(handler=_history)


def _schema(args: argparse.Namespace):
    """The schema of the configured database (``Container.schema``)."""
    return wiring.container(args.config).schema()


def _upgrade(args: argparse.Namespace) -> int:
    schema = _schema(args)
    schema.upgrade(args.revision)
    print(f"database at {schema.describe()}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    schema = _schema(args)
    schema.downgrade(args.revision)
    print(f"database at {schema.describe()}")
    return 0


def _current(args: argparse.Namespace) -> int:
    print(_schema(args).describe())
    return 0


def _history(args: argparse.Namespace) -> int:
    for revision, description in _schema(args).history():
        print(f"{revision}  {description}")
    return 0
