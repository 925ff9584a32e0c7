"""Live trading's records: orders (each recorded with its client id before it is sent, so that a
retry never trades twice) and the exchange's fills; the paper exchange's books, requests and
fills; trades keep a fractional leverage.

Revision ID: b8d0f2a4c6e9
Revises: a7c9e2d4f6b8
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "b8d0f2a4c6e9"
down_revision = "a7c9e2d4f6b8"
branch_labels = None
depends_on = None


def _fill_columns() -> list[sa.Column]:
    return [
        sa.Column("subaccount_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("fee", sa.Float, nullable=False),
        sa.Column("filled_at", sa.DateTime, nullable=False),
        sa.Column("reason", sa.String(20)),
    ]


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("client_order_id", sa.String(64), primary_key=True),
        sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
        sa.Column("subaccount_id", sa.Integer, nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("reduce_only", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("candle_at", sa.DateTime, nullable=False),
        sa.Column("atr", sa.Float),
    )
    op.create_index("ix_orders_subaccount_status", "orders", ["subaccount_id", "status"])
    op.create_table("fills", *_fill_columns())
    op.create_index("ix_fills_client_order_id", "fills", ["client_order_id"])
    op.create_table(
        "paper_accounts",
        sa.Column("subaccount_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("book", sa.JSON, nullable=False),
    )
    op.create_table(
        "paper_requests",
        sa.Column("request_id", sa.String(64), primary_key=True),
        sa.Column("subaccount_id", sa.Integer, nullable=False),
        sa.Column("request", sa.JSON, nullable=False),
    )
    op.create_table("paper_fills", *_fill_columns())
    with op.batch_alter_table("trades") as batch:
        batch.add_column(sa.Column("leverage_ratio", sa.Float))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("leverage_ratio")
    for table in ("paper_fills", "paper_requests", "paper_accounts"):
        op.drop_table(table)
    op.drop_index("ix_fills_client_order_id", "fills")
    op.drop_table("fills")
    op.drop_index("ix_orders_subaccount_status", "orders")
    op.drop_table("orders")
