"""The coins of a strategy's initial backtest, so that its re-backtests run on the same ones.

``backtest_coins`` is a JSON list of coin names, in the order the initial backtest used them; rows
from before (and the original system's) have none and re-backtest on the current coins.

Revision ID: f3b7d1a9c2e4
Revises: e9a0b3c5d7f1
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "f3b7d1a9c2e4"
down_revision = "e9a0b3c5d7f1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.add_column(sa.Column("backtest_coins", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.drop_column("backtest_coins")
