"""The plan's migration: five statuses, ``last_backtested_at``, and an event per changed row.

TESTED and SELECTED become ACTIVE, FAILED becomes RETIRED (reason ``failed``); a status in use that
the plan does not know stops the migration before anything changes. Each change is recorded in
``strategy_events`` (reason ``migration``) so that the downgrade gives every row back its exact
former status. The original label list of the status type is kept for the downgrade too. The whole
revision runs in the caller's single transaction (see ``alembic/env.py``).

A database the original system's own migration 014 left half-way (it committed each step on its
own, so a failure kept the steps before it and the version ``a1f6f9a716cc``) is read, not assumed:
an ACTIVE label and ACTIVE rows may already be there (those rows stay ACTIVE, with no event: this
migration did not change them), and so may ``last_backtested_at`` (with values copied from
``tested_at``, or NULL) and an index on it. An existing column is reused: only its NULLs are filled,
by the same rule, and each filled row is recorded in ``legacy_last_backtested_at_fills``.

A database at a later revision of the original system (carried here by
``original_revisions.enter``) may also have ``retired_reason`` (its 775182bcf916: varchar(50)). The
column and its values are kept and widened to text (our reasons are longer); only FAILED rows
without a reason get ``failed``, each recorded in ``legacy_retired_reason_fills``.

``subaccounts.peak_balance`` (which the pipeline reads) exists in the original system only from its
revision 5f728cbb7dcf on; on an older database this migration adds it (and
``legacy_peak_balance_added`` says so, for the downgrade to drop it again).

Downgrade decision: the downgrade gives back the database this migration found. A column this
migration added is dropped; a column that was already there stays (with its index and values),
and a row this migration filled gets its NULL back unless the pipeline has since written another
time (a re-backtest, kept as the status downgrade keeps the pipeline's moves). The fills table
exists exactly when the column was already there. So for ``retired_reason``: an existing column
goes back to varchar(50) (reasons written since that are longer are cut to 50 characters) and the
rows this migration filled get their NULL back.

Revision ID: c4d2e8b91f07
Revises: a1f6f9a716cc
Create Date: 2025-01-02
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from sixbtc.adapters.sqlalchemy.migrations import MigrationRefused

revision = "c4d2e8b91f07"
down_revision = "a1f6f9a716cc"
branch_labels = None
depends_on = None

STATUSES = ("GENERATED", "VALIDATED", "ACTIVE", "LIVE", "RETIRED")
#: What the original system's statuses become (the others keep their name).
RENAMED = {"TESTED": "ACTIVE", "SELECTED": "ACTIVE", "FAILED": "RETIRED"}
#: The labels revision a1f6f9a716cc creates (SQLite has no enum type to read them from).
ORIGINAL_LABELS = ("GENERATED", "VALIDATED", "TESTED", "SELECTED", "LIVE", "RETIRED", "FAILED")
MIGRATION = "migration"

labels_table = sa.table(
    "legacy_strategy_status_labels", sa.column("position", sa.Integer), sa.column("label")
)
#: Rows whose existing ``last_backtested_at`` was NULL and this migration filled, with the value.
fills = sa.table(
    "legacy_last_backtested_at_fills",
    sa.column("strategy_id", sa.Uuid),
    sa.column("last_backtested_at", sa.DateTime),
)
strategies = sa.table(
    "strategies",
    sa.column("id", sa.Uuid),
    sa.column("status", sa.String),
    sa.column("retired_reason", sa.Text),
    sa.column("created_at", sa.DateTime),
    sa.column("tested_at", sa.DateTime),
    sa.column("last_backtested_at", sa.DateTime),
)
events = sa.table(
    "strategy_events",
    sa.column("id", sa.Integer),
    sa.column("strategy_id", sa.Uuid),
    sa.column("from_status", sa.String),
    sa.column("to_status", sa.String),
    sa.column("reason", sa.Text),
    sa.column("at", sa.DateTime),
    sa.column("service", sa.String),
)
#: Rows whose existing ``retired_reason`` was NULL and this migration set to ``failed``.
reason_fills = sa.table("legacy_retired_reason_fills", sa.column("strategy_id", sa.Uuid))
#: Marks that this migration added ``subaccounts.peak_balance`` (the original system has it only
#: from its revision 5f728cbb7dcf on): the downgrade drops it again.
PEAK_BALANCE_ADDED = "legacy_peak_balance_added"
#: The type of the original system's ``retired_reason`` (its revision 775182bcf916).
ORIGINAL_REASON_TYPE = sa.String(50)
backtests = sa.table(
    "backtest_results", sa.column("strategy_id", sa.Uuid), sa.column("created_at", sa.DateTime)
)


def _is_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _status_type(labels) -> sa.Enum:
    return sa.Enum(*labels, name="strategy_status", create_constraint=True)


def _type_labels() -> list[str]:
    if not _is_postgresql():
        return list(ORIGINAL_LABELS)
    # The type the strategies table uses (its schema on the search path), labels in their order.
    query = sa.text(
        "SELECT enumlabel FROM pg_enum WHERE enumtypid = 'strategy_status'::regtype "
        "ORDER BY enumsortorder"
    )
    return list(op.get_bind().execute(query).scalars())


def _has_column(name: str, table: str = "strategies") -> bool:
    columns = sa.inspect(op.get_bind()).get_columns(table)
    return any(column["name"] == name for column in columns)


def _refuse_unknown_statuses() -> None:
    in_use = op.get_bind().execute(
        sa.select(strategies.c.status, sa.func.count()).group_by(strategies.c.status)
    )
    unknown = {
        str(status): count
        for status, count in in_use
        if str(status) not in STATUSES and str(status) not in RENAMED
    }
    if unknown:
        found = ", ".join(f"{label} ({count} rows)" for label, count in sorted(unknown.items()))
        known = ", ".join((*STATUSES, *RENAMED))
        raise MigrationRefused(
            f"strategies.status: found {found}; expected only {known}. Nothing was changed: map "
            "or delete those rows, then run `sixbtc db upgrade` again."
        )


def _set_status_type(old: sa.types.TypeEngine, new: sa.types.TypeEngine) -> None:
    """Change the type of strategies.status (enum <-> string) keeping every value."""
    if _is_postgresql():
        if isinstance(new, sa.Enum):
            new.create(op.get_bind())
        op.alter_column(
            "strategies",
            "status",
            type_=new,
            existing_type=old,
            existing_nullable=False,
            postgresql_using=f"status::{'strategy_status' if isinstance(new, sa.Enum) else 'text'}",
        )
        if isinstance(old, sa.Enum):
            op.execute("DROP TYPE strategy_status")
    else:
        with op.batch_alter_table("strategies", recreate="always") as batch:
            batch.alter_column("status", type_=new, existing_type=old, existing_nullable=False)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def upgrade() -> None:
    bind = op.get_bind()
    _refuse_unknown_statuses()
    original_labels = _type_labels()
    column_existed = _has_column("last_backtested_at")
    reason_existed = _has_column("retired_reason")
    op.create_table(
        "legacy_strategy_status_labels",
        sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("label", sa.String(20), nullable=False),
    )
    op.bulk_insert(
        labels_table, [{"position": i, "label": v} for i, v in enumerate(original_labels)]
    )
    op.create_table(
        "strategy_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=False),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("service", sa.String(50), nullable=False),
    )
    op.create_index("ix_strategy_events_strategy_id", "strategy_events", ["strategy_id", "id"])
    if column_existed:
        op.create_table(
            fills.name,
            sa.Column("strategy_id", sa.Uuid, primary_key=True),
            sa.Column("last_backtested_at", sa.DateTime, nullable=False),
        )
    else:
        op.add_column("strategies", sa.Column("last_backtested_at", sa.DateTime))
    if reason_existed:
        op.create_table(reason_fills.name, sa.Column("strategy_id", sa.Uuid, primary_key=True))
        bind.execute(
            reason_fills.insert().from_select(
                ["strategy_id"],
                sa.select(strategies.c.id).where(
                    sa.cast(strategies.c.status, sa.Text) == "FAILED",
                    strategies.c.retired_reason.is_(None),
                ),
            )
        )
        with op.batch_alter_table("strategies") as batch:
            batch.alter_column("retired_reason", type_=sa.Text, existing_type=ORIGINAL_REASON_TYPE)
    else:
        op.add_column("strategies", sa.Column("retired_reason", sa.Text))
    if not _has_column("peak_balance", "subaccounts"):
        op.add_column("subaccounts", sa.Column("peak_balance", sa.Float))
        op.create_table(PEAK_BALANCE_ADDED, sa.Column("added", sa.Boolean, primary_key=True))
    _set_status_type(_status_type(original_labels), sa.String(20))

    now = _now()
    for old, new in RENAMED.items():
        bind.execute(
            events.insert().from_select(
                ["strategy_id", "from_status", "to_status", "reason", "at", "service"],
                sa.select(
                    strategies.c.id,
                    strategies.c.status,
                    sa.literal(new),
                    sa.literal(MIGRATION),
                    sa.literal(now, sa.DateTime),
                    sa.literal(MIGRATION),
                ).where(strategies.c.status == old),
            )
        )
        values = {"status": new}
        if new == "RETIRED":  # a reason the original system recorded is kept
            values["retired_reason"] = sa.func.coalesce(strategies.c.retired_reason, "failed")
        bind.execute(strategies.update().where(strategies.c.status == old).values(**values))

    latest_backtest = (
        sa.select(sa.func.max(backtests.c.created_at))
        .where(backtests.c.strategy_id == strategies.c.id)
        .scalar_subquery()
    )
    backtested = sa.case(
        (strategies.c.status.in_(("ACTIVE", "LIVE")), strategies.c.created_at), else_=None
    )
    last_backtest = sa.func.coalesce(latest_backtest, strategies.c.tested_at, backtested)
    unset = strategies.c.last_backtested_at.is_(None)
    if column_existed:
        bind.execute(
            fills.insert().from_select(
                ["strategy_id", "last_backtested_at"],
                sa.select(strategies.c.id, last_backtest).where(unset, last_backtest.is_not(None)),
            )
        )
    bind.execute(strategies.update().where(unset).values(last_backtested_at=last_backtest))
    _set_status_type(sa.String(20), _status_type(STATUSES))


def _status_before_migration() -> sa.ScalarSelect:
    """The status a row had before this migration, if the migration changed it and the row is
    still in the status the migration gave it (statuses never come back, so it never left)."""
    return (
        sa.select(events.c.from_status)
        .where(
            events.c.strategy_id == strategies.c.id,
            events.c.reason == MIGRATION,
            events.c.service == MIGRATION,
            events.c.to_status == strategies.c.status,
        )
        .limit(1)
        .scalar_subquery()
    )


def downgrade() -> None:
    bind = op.get_bind()
    original_labels = list(
        bind.execute(sa.select(labels_table.c.label).order_by(labels_table.c.position)).scalars()
    )
    _set_status_type(_status_type(STATUSES), sa.String(20))
    # A migrated row still in its migrated status gets its former status back (whatever the
    # pipeline recorded since, such as re-backtests); a row the pipeline moved on keeps the move,
    # and any other ACTIVE row is what the original system called TESTED (unless its type already
    # had ACTIVE: the original system's own migration, run half-way, added it).
    former = _status_before_migration()
    bind.execute(strategies.update().where(former.is_not(None)).values(status=former))
    if "ACTIVE" not in original_labels:
        bind.execute(
            strategies.update().where(strategies.c.status == "ACTIVE").values(status="TESTED")
        )
    _set_status_type(sa.String(20), _status_type(original_labels))
    column_existed = sa.inspect(bind).has_table(fills.name)
    if column_existed:
        filled_and_untouched = sa.exists().where(
            fills.c.strategy_id == strategies.c.id,
            fills.c.last_backtested_at == strategies.c.last_backtested_at,
        )
        bind.execute(
            strategies.update().where(filled_and_untouched).values(last_backtested_at=None)
        )
        op.drop_table(fills.name)
    reason_existed = sa.inspect(bind).has_table(reason_fills.name)
    if reason_existed:
        filled = sa.exists().where(reason_fills.c.strategy_id == strategies.c.id)
        bind.execute(
            strategies.update()
            .where(filled, strategies.c.retired_reason == "failed")
            .values(retired_reason=None)
        )
        bind.execute(
            strategies.update()
            .where(sa.func.length(strategies.c.retired_reason) > ORIGINAL_REASON_TYPE.length)
            .values(retired_reason=sa.func.substr(strategies.c.retired_reason, 1, 50))
        )
        op.drop_table(reason_fills.name)
    with op.batch_alter_table("strategies") as batch:
        if reason_existed:
            batch.alter_column("retired_reason", type_=ORIGINAL_REASON_TYPE, existing_type=sa.Text)
        else:
            batch.drop_column("retired_reason")
        if not column_existed:
            batch.drop_column("last_backtested_at")
    if sa.inspect(bind).has_table(PEAK_BALANCE_ADDED):
        with op.batch_alter_table("subaccounts") as batch:
            batch.drop_column("peak_balance")
        op.drop_table(PEAK_BALANCE_ADDED)
    op.drop_index("ix_strategy_events_strategy_id", "strategy_events")
    op.drop_table("strategy_events")
    op.drop_table("legacy_strategy_status_labels")
