"""Live trading's safety: the kill switch's halts, reconciliation's issues, the portfolio's value
per UTC day (emergency stops), and the live exchange's journal of transfers.

Revision ID: c6e8a0b2d4f7
Revises: b5d7f9a1c3e6
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "c6e8a0b2d4f7"
down_revision = "b5d7f9a1c3e6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trading_halts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("cause", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at", sa.DateTime, nullable=False),
        sa.Column("flattened_at", sa.DateTime),
        sa.Column("lifted_at", sa.DateTime),
        sa.Column("lifted_by", sa.String(200)),
    )
    op.create_table(
        "trading_issues",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subaccount_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("found_at", sa.DateTime, nullable=False),
        sa.Column("resolved_at", sa.DateTime),
        sa.Column("resolved_by", sa.String(200)),
    )
    op.create_table(
        "portfolio_days",
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("opening", sa.Float, nullable=False),
        sa.Column("peak", sa.Float, nullable=False),
        sa.Column("low", sa.Float, nullable=False),
        sa.Column("last", sa.Float, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("loss_halted", sa.Boolean, nullable=False),
    )
    op.create_table(
        "exchange_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("subaccount_id", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("exchange_requests", "portfolio_days", "trading_issues", "trading_halts"):
        op.drop_table(table)
