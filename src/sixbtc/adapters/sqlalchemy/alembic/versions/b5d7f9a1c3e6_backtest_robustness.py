"""Each backtest result keeps its robustness figures: the chosen configuration's grid
neighbourhood and Monte Carlo bands of its trades (``strategy show`` and ``report`` show them).

Revision ID: b5d7f9a1c3e6
Revises: e4a6c8f0b2d3
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "b5d7f9a1c3e6"
down_revision = "e4a6c8f0b2d3"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backtest_results") as table:
        table.add_column(sa.Column("robustness", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("backtest_results") as table:
        table.drop_column("robustness")
