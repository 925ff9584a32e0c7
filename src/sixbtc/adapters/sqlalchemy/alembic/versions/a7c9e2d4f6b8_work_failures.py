"""Failures of our own machinery on a strategy (not the strategy's fault): how many in a row, the
last error and when, and the time before which no worker claims it again (a back-off per strategy,
so that one strategy that keeps failing never blocks the queue).

Revision ID: a7c9e2d4f6b8
Revises: f3b7d1a9c2e4
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "a7c9e2d4f6b8"
down_revision = "f3b7d1a9c2e4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.add_column(sa.Column("work_failures", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_work_error", sa.Text))
        batch.add_column(sa.Column("work_failed_at", sa.DateTime))
        batch.add_column(sa.Column("retry_after", sa.DateTime))


def downgrade() -> None:
    with op.batch_alter_table("strategies") as batch:
        batch.drop_column("retry_after")
        batch.drop_column("work_failed_at")
        batch.drop_column("last_work_error")
        batch.drop_column("work_failures")
