"""Each backtest result keeps its equity curve across both windows, downsampled, and each coin's
figures (``sixbtc report`` draws the curve, ``strategy show`` shows both).

Revision ID: e4a6c8f0b2d3
Revises: d2f4a6c8e0b1
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "e4a6c8f0b2d3"
down_revision = "d2f4a6c8e0b1"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backtest_results") as table:
        table.add_column(sa.Column("equity_curve", sa.JSON))
        table.add_column(sa.Column("coin_results", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("backtest_results") as table:
        table.drop_column("coin_results")
        table.drop_column("equity_curve")
