"""The original system's Alembic revisions, and the bridge that lets our chain carry a database at
any of them.

Our chain starts at the original's ``a1f6f9a716cc``. The original went on past it with a chain of
its own (:data:`LATER`); a database at one of those revisions holds an ``alembic_version`` our
Alembic does not know. :func:`enter` brings such a database to the state our ``c4d2e8b91f07``
accepts at ``a1f6f9a716cc``, in the caller's transaction:

- the original's own ``strategy_events`` table (pipeline events, from its ``015_strategy_events``)
  is renamed to ``legacy_strategy_events`` with its primary key, rows untouched, so that our event
  table can take the name;
- the revision it came from is recorded in ``legacy_original_revision`` and ``alembic_version``
  reads ``a1f6f9a716cc``.

Everything else the later revisions did is read, not assumed, by ``c4d2e8b91f07`` (an ``ACTIVE``
label and rows, ``last_backtested_at``, ``retired_reason``) or is left as it is (tables and columns
our pipeline does not use, ``period_type`` values, strategy type codes). :func:`leave` undoes
:func:`enter` once our chain is back at ``a1f6f9a716cc``, so that a downgrade returns the database
to the revision it came from.
"""

from __future__ import annotations

import attrs
import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: Our first revision: the original's, before its ``014_rename_tested_to_active``.
OUR_FIRST = "a1f6f9a716cc"
ORIGIN_TABLE = "legacy_original_revision"
#: The original's tables our chain renames while the database is ours: {its name: ours for it}.
RENAMED_TABLES = {"strategy_events": "legacy_strategy_events"}


@attrs.frozen
class OriginalRevision:
    """One revision of the original system after ``a1f6f9a716cc``: what it did, and what a
    downgrade from our head back to it cannot give back exactly (empty: nothing)."""

    revision: str
    does: str
    downgrade_caveat: str = ""


_REASON_CUT = (
    "retirement reasons the pipeline writes after the upgrade are cut to the column's 50 characters"
)

#: The original's chain after a1f6f9a716cc, oldest first (read from its alembic/versions).
LATER: tuple[OriginalRevision, ...] = (
    OriginalRevision(
        "014_rename_tested_to_active",
        "adds the ACTIVE label; TESTED and SELECTED rows become ACTIVE; adds "
        "strategies.last_backtested_at (from tested_at) and its index; adds queue_active and "
        "utilization_active to pipeline_metrics_snapshots",
    ),
    OriginalRevision("4888110cfe92", "adds backtest_results.weighted_max_drawdown (float, NULL)"),
    OriginalRevision(
        "3af026f58a19",
        "creates validation_caches (shuffle test cache); adds strategies.base_code_hash and "
        "two indexes",
    ),
    OriginalRevision(
        "0e81376af4a2",
        "adds validation_caches.multi_window_passed and multi_window_reason; shuffle_passed "
        "may be NULL",
    ),
    OriginalRevision(
        "015_strategy_events",
        "creates its own strategy_events (pipeline events: timestamp, strategy_name, "
        "event_type, stage, status, event_data) with five indexes",
    ),
    OriginalRevision(
        "5b467cdc97da", "creates used_indicator_combinations (text arrays, a unique key)"
    ),
    OriginalRevision(
        "b4312de95e92",
        "creates credentials; recreates backtest_results' self foreign key without ON DELETE "
        "SET NULL; queue_active NOT NULL, queue_tested and queue_selected NULL; drops "
        "idx_last_backtested",
    ),
    OriginalRevision(
        "016_rename_training_holdout_to_is_oos",
        "backtest_results.period_type 'training' becomes 'in_sample', 'holdout' becomes "
        "'out_of_sample'",
    ),
    OriginalRevision("775182bcf916", "adds strategies.retired_reason (varchar(50))", _REASON_CUT),
    OriginalRevision(
        "5f728cbb7dcf",
        "creates emergency_stop_states; adds subaccounts.peak_balance, "
        "peak_balance_updated_at, daily_pnl_usd and daily_pnl_reset_date",
        _REASON_CUT,
    ),
    OriginalRevision(
        "017_add_trading_coins",
        "adds strategies.trading_coins (json), filled from pattern_coins or backtest_pairs",
        _REASON_CUT,
    ),
    OriginalRevision(
        "0b44290a73b2",
        "drops strategies.pattern_coins and backtest_pairs",
        _REASON_CUT,
    ),
    OriginalRevision(
        "6d97260858eb",
        "rewrites strategy_type codes to TRD, MOM, REV, VOL and CDL, and the type in names and "
        "class names in code (its own downgrade is impossible)",
        _REASON_CUT,
    ),
    OriginalRevision(
        "018_add_coin_data_coverage", "adds coins.data_coverage_days (integer)", _REASON_CUT
    ),
    OriginalRevision(
        "019_drop_validation_cache",
        "drops validation_caches (its rows are gone before our upgrade sees the database)",
        _REASON_CUT,
    ),
)
LATER_IDS = tuple(r.revision for r in LATER)
#: The original's chain up to a1f6f9a716cc, oldest first: older than our first revision.
EARLIER = (
    "001_add_processing_fields",
    "002_add_multipair_backtest_fields",
    "003_add_coins_table",
    "004_add_dual_period_backtest",
    "005_add_strategy_templates",
    "006_add_template_structure_id",
    "007_add_live_metrics",
    "008_trade_sync_fields",
    "5bda9bf19064",
    "009_fix_recent_result_fk_cascade",
    "010_add_pipeline_timestamps",
    "012_add_scheduled_tasks_tracking",
    "013_add_weighted_metrics",
    "ea871ba50cf7",
    "a066baad48f7",
)


def later(revision: str | None) -> OriginalRevision | None:
    """The original's revision ``revision`` after a1f6f9a716cc, or None."""
    return next((r for r in LATER if r.revision == revision), None)


def at_least(revision: str, since: str) -> bool:
    """Whether the original's later ``revision`` is ``since`` or after it."""
    return LATER_IDS.index(revision) >= LATER_IDS.index(since)


def earlier_message(revision: str) -> str:
    """What to do with a database at the original's ``revision`` before a1f6f9a716cc."""
    return (
        f"the database is at the original system's revision {revision}, older than "
        f"{OUR_FIRST}, the first this version of sixbtc can carry. Nothing was changed: bring it "
        f"to {OUR_FIRST} or later with the original system first (its `alembic upgrade "
        f"{OUR_FIRST}`), back it up, then run `sixbtc db upgrade`."
    )


class BridgeRefused(Exception):
    """The database does not look like the revision it names; nothing was changed."""


def _version(connection: Connection) -> str | None:
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    found = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
    return found[0] if len(found) == 1 else None


def origin(connection: Connection) -> str | None:
    """The original revision a database came from through :func:`enter` (None: not bridged)."""
    if not sa.inspect(connection).has_table(ORIGIN_TABLE):
        return None
    return connection.exec_driver_sql(f"SELECT revision FROM {ORIGIN_TABLE}").scalar_one()


def _columns(connection: Connection, table: str) -> set[str]:
    inspector = sa.inspect(connection)
    if not inspector.has_table(table):
        return set()
    return {c["name"] for c in inspector.get_columns(table)}


def _check_state(connection: Connection, revision: str) -> None:
    """Refuse a database whose tables contradict ``revision`` before anything changes."""
    strategies = _columns(connection, "strategies")
    events = _columns(connection, "strategy_events")
    problems = []
    if not strategies:
        problems.append("no strategies table")
    if at_least(revision, "775182bcf916") != ("retired_reason" in strategies):
        problems.append(
            "strategies.retired_reason "
            + ("missing" if "retired_reason" not in strategies else "present")
        )
    if at_least(revision, "015_strategy_events"):
        if not events or "event_type" not in events:
            problems.append("no strategy_events table of the original system (with event_type)")
    elif events:
        problems.append("a strategy_events table, which this revision does not have")
    for ours in RENAMED_TABLES.values():
        if sa.inspect(connection).has_table(ours):
            problems.append(f"a table {ours}, whose name our migration needs")
    if problems:
        raise BridgeRefused(
            f"the database names the original system's revision {revision} but has "
            f"{'; '.join(problems)}: it is not in the state that revision leaves. Nothing was "
            "changed: restore it from a backup made by the original system, or bring its schema "
            f"to the revision's (the original's alembic/versions), then run `sixbtc db upgrade`."
        )


def enter(connection: Connection) -> str | None:
    """Bring a database at one of the original's later revisions to our ``a1f6f9a716cc`` (see
    the module); returns that revision, or None (and changes nothing) for any other database."""
    revision = _version(connection)
    if later(revision) is None:
        return None
    _check_state(connection, revision)
    inspector = sa.inspect(connection)
    for theirs, ours in RENAMED_TABLES.items():
        if inspector.has_table(theirs):
            _rename_table(connection, theirs, ours)
    connection.exec_driver_sql(f"CREATE TABLE {ORIGIN_TABLE} (revision varchar(64) NOT NULL)")
    connection.execute(
        sa.text(f"INSERT INTO {ORIGIN_TABLE} (revision) VALUES (:revision)"),
        {"revision": revision},
    )
    _stamp(connection, OUR_FIRST)
    return revision


def leave(connection: Connection) -> str:
    """Undo :func:`enter` on a database our chain has brought back to ``a1f6f9a716cc``; returns
    the original revision it is at again."""
    revision = origin(connection)
    if revision is None or _version(connection) != OUR_FIRST:
        raise BridgeRefused("the database did not come from a later revision of the original")
    inspector = sa.inspect(connection)
    for theirs, ours in RENAMED_TABLES.items():
        if inspector.has_table(ours):
            _rename_table(connection, ours, theirs)
    connection.exec_driver_sql(f"DROP TABLE {ORIGIN_TABLE}")
    _stamp(connection, revision)
    return revision


def _rename_table(connection: Connection, old: str, new: str) -> None:
    connection.exec_driver_sql(f"ALTER TABLE {old} RENAME TO {new}")
    if connection.dialect.name == "postgresql":
        # The primary key's index is named after the table, and index names are per schema.
        primary = sa.inspect(connection).get_pk_constraint(new).get("name")
        if primary == f"{old}_pkey":
            connection.exec_driver_sql(
                f"ALTER TABLE {new} RENAME CONSTRAINT {primary} TO {new}_pkey"
            )


def _stamp(connection: Connection, revision: str) -> None:
    connection.execute(
        sa.text("UPDATE alembic_version SET version_num = :revision"), {"revision": revision}
    )
