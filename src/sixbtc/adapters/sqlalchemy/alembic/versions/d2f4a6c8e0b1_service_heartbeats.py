"""The services' heartbeats: one row per service process (``sixbtc status`` shows them).

Revision ID: d2f4a6c8e0b1
Revises: b8d0f2a4c6e9
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "d2f4a6c8e0b1"
down_revision = "b8d0f2a4c6e9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_heartbeats",
        sa.Column("service", sa.String(40), primary_key=True),
        sa.Column("owner", sa.String(100), primary_key=True),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("beat_at", sa.DateTime, nullable=False),
        sa.Column("ticks", sa.Integer, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", sa.DateTime),
        sa.Column("stopped_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("service_heartbeats")
