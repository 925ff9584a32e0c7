"""The new pipeline's columns: claims with leases, code hashes, backtest run details.

``code_hash`` is unique; when old rows share the same code, the oldest keeps the hash and the
others keep none (they stay, as every old row does). ``timeframe`` becomes optional: a new strategy
has none until its backtest picks one (``optimal_timeframe``).

Revision ID: e9a0b3c5d7f1
Revises: c4d2e8b91f07
Create Date: 2025-01-03
"""

import sqlalchemy as sa
from alembic import op

from sixbtc.domain.strategy import code_hash

revision = "e9a0b3c5d7f1"
down_revision = "c4d2e8b91f07"
branch_labels = None
depends_on = None

strategies = sa.table(
    "strategies",
    sa.column("id", sa.Uuid),
    sa.column("code", sa.Text),
    sa.column("code_hash", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("timeframe", sa.String),
    sa.column("optimal_timeframe", sa.String),
)
BACKTEST_COLUMNS = (
    ("run_kind", sa.String(10)),
    ("training_end", sa.DateTime),
    ("holdout_start", sa.DateTime),
    ("execution_parameters", sa.JSON),
    ("training_metrics", sa.JSON),
    ("holdout_metrics", sa.JSON),
    ("score", sa.Float),
)


def _fill_code_hashes() -> None:
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(strategies.c.id, strategies.c.code).order_by(
            strategies.c.created_at, strategies.c.id
        )
    )
    taken: set[str] = set()
    updates = []
    for strategy_id, code in rows:
        digest = code_hash(code)
        if digest not in taken:
            taken.add(digest)
            updates.append({"sid": strategy_id, "digest": digest})
    if updates:
        bind.execute(
            strategies.update()
            .where(strategies.c.id == sa.bindparam("sid"))
            .values(code_hash=sa.bindparam("digest")),
            updates,
        )


def upgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.add_column(sa.Column("code_hash", sa.String(64)))
        batch.add_column(sa.Column("claimed_by", sa.String(100)))
        batch.add_column(sa.Column("claim_expires_at", sa.DateTime))
        batch.alter_column("timeframe", existing_type=sa.String(10), nullable=True)
    _fill_code_hashes()
    op.create_index("ux_strategies_code_hash", "strategies", ["code_hash"], unique=True)
    op.create_index("ix_strategies_status_created", "strategies", ["status", "created_at"])
    op.create_index(
        "ix_strategies_status_backtested", "strategies", ["status", "last_backtested_at"]
    )
    with op.batch_alter_table("backtest_results") as batch:
        for name, type_ in BACKTEST_COLUMNS:
            batch.add_column(sa.Column(name, type_))


def downgrade() -> None:
    with op.batch_alter_table("backtest_results") as batch:
        for name, _ in reversed(BACKTEST_COLUMNS):
            batch.drop_column(name)
    for index in (
        "ix_strategies_status_backtested",
        "ix_strategies_status_created",
        "ux_strategies_code_hash",
    ):
        op.drop_index(index, "strategies")
    # The original system requires a timeframe: new strategies never backtested get an empty one.
    op.get_bind().execute(
        strategies.update()
        .where(strategies.c.timeframe.is_(None))
        .values(timeframe=sa.func.coalesce(strategies.c.optimal_timeframe, ""))
    )
    with op.batch_alter_table("strategies") as batch:
        batch.alter_column("timeframe", existing_type=sa.String(10), nullable=False)
        batch.drop_column("claim_expires_at")
        batch.drop_column("claimed_by")
        batch.drop_column("code_hash")
