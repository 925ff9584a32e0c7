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
    upgrade = actions.add_parser(
        "upgrade",
        help="upgrade to the latest (or a given) revision",
        description="Create the database (a SQLite file is created if missing) or upgrade it to "
        "the latest revision (or --revision), in one transaction: a failure leaves it as it was. "
        "A database of the original system (its revision a1f6f9a716cc or any later one, up to "
        "019_drop_validation_cache) keeps every row; what a downgrade could not give back is "
        "said first. Back it up first; services refuse to start until it is at the latest "
        "revision.",
    )
    upgrade.add_argument("--revision", default="head", help="target revision (default: head)")
    upgrade.add_argument(
        "--dry-run",
        action="store_true",
        help="say where the database is and what the upgrade would do; change nothing",
    )
    upgrade.set_defaults(handler=_upgrade)
    downgrade = actions.add_parser(
        "downgrade",
        help="downgrade to a revision",
        description="Undo the migrations after REVISION (`sixbtc db history` lists them), in one "
        "transaction. Down to a1f6f9a716cc the original system's schema and rows come back as "
        "they were; what only newer revisions hold (orders, fills, heartbeats, ...) is dropped. "
        "A database upgraded from a later revision of the original system goes back to that "
        "revision (give its id), not to a1f6f9a716cc.",
    )
    downgrade.add_argument("revision", help="target revision, e.g. a1f6f9a716cc")
    downgrade.set_defaults(handler=_downgrade)
    current = actions.add_parser(
        "current",
        help="print the database's revision (creates nothing)",
        description="Print the revision the database is at, or why there is none (no file yet, "
        "empty, or a revision this version does not know). Creates and changes nothing.",
    )
    current.set_defaults(handler=_current)
    history = actions.add_parser(
        "history",
        help="list the revisions this version knows",
        description="List the revisions this version of sixbtc knows, oldest first, with what "
        "each one does.",
    )
    history.set_defaults(handler=_history)


def _schema(args: argparse.Namespace):
    """The schema of the configured database (``Container.schema``)."""
    return wiring.container(args.config).schema()


def _upgrade(args: argparse.Namespace) -> int:
    schema = _schema(args)
    for note in schema.upgrade_notes():
        print(f"note: {note}")
    if args.dry_run:
        print(
            f"dry run, nothing changed: the database is at {schema.describe()}; "
            f"`sixbtc db upgrade` would take it to {args.revision}"
        )
        return 0
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
