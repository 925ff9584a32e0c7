"""The original system's tables that the pipeline uses (already applied on its databases).

Portable types: on PostgreSQL they are the original ones (uuid, json/jsonb, the enum types
``strategy_status``, ``trade_direction`` and ``subaccount_status``); on SQLite strings with CHECK
constraints.

Revision ID: a1f6f9a716cc
Revises:
Create Date: 2025-01-01
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "a1f6f9a716cc"
down_revision = None
branch_labels = None
depends_on = None

OLD_STATUSES = ("GENERATED", "VALIDATED", "TESTED", "SELECTED", "LIVE", "RETIRED", "FAILED")
ENUMS = {
    "strategy_status": OLD_STATUSES,
    "trade_direction": ("LONG", "SHORT"),
    "subaccount_status": ("ACTIVE", "PAUSED", "STOPPED"),
}


def _enum(name: str) -> sa.Enum:
    return sa.Enum(*ENUMS[name], name=name, create_constraint=True)


def _json_binary() -> sa.JSON:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "strategies",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("strategy_type", sa.String(50), nullable=False),
        sa.Column("timeframe", sa.String(10), nullable=False),
        sa.Column("status", _enum("strategy_status"), nullable=False),
        sa.Column("processing_by", sa.String(100)),
        sa.Column("processing_started_at", sa.DateTime),
        sa.Column("code", sa.Text, nullable=False),
        sa.Column("parameters", sa.JSON),
        sa.Column("parametric_backtest_metrics", _json_binary()),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("tested_at", sa.DateTime),
        sa.Column("live_since", sa.DateTime),
        sa.Column("retired_at", sa.DateTime),
        sa.Column("optimal_timeframe", sa.String(10)),
        sa.Column("score_backtest", sa.Float),
        sa.Column("score_live", sa.Float),
        sa.Column("win_rate_live", sa.Float),
        sa.Column("expectancy_live", sa.Float),
        sa.Column("sharpe_live", sa.Float),
        sa.Column("max_drawdown_live", sa.Float),
        sa.Column("total_pnl_live", sa.Float),
        sa.Column("live_degradation_pct", sa.Float),
        sa.Column("total_trades_live", sa.Integer),
        sa.Column("last_live_update", sa.DateTime),
    )
    op.create_index("ix_strategies_status", "strategies", ["status"])
    op.create_table(
        "backtest_results",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
        sa.Column("lookback_days", sa.Integer, nullable=False),
        sa.Column("initial_capital", sa.Float, nullable=False),
        sa.Column("start_date", sa.DateTime, nullable=False),
        sa.Column("end_date", sa.DateTime, nullable=False),
        sa.Column("total_trades", sa.Integer, nullable=False),
        sa.Column("win_rate", sa.Float),
        sa.Column("sharpe_ratio", sa.Float),
        sa.Column("expectancy", sa.Float),
        sa.Column("max_drawdown", sa.Float),
        sa.Column("final_equity", sa.Float),
        sa.Column("total_return_pct", sa.Float),
        sa.Column("timeframe_tested", sa.String(10)),
        sa.Column("is_optimal_tf", sa.Boolean),
        sa.Column("period_type", sa.String(20)),
        sa.Column("period_days", sa.Integer),
        sa.Column("weighted_sharpe", sa.Float),
        sa.Column("weighted_win_rate", sa.Float),
        sa.Column("weighted_expectancy", sa.Float),
        sa.Column("recent_result_id", sa.Uuid, sa.ForeignKey("backtest_results.id")),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_index("ix_backtest_results_strategy_id", "backtest_results", ["strategy_id"])
    op.create_table(
        "trades",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("subaccount_id", sa.Integer, nullable=False),
        sa.Column("direction", _enum("trade_direction"), nullable=False),
        sa.Column("entry_time", sa.DateTime, nullable=False),
        sa.Column("entry_price", sa.Float, nullable=False),
        sa.Column("entry_size", sa.Float, nullable=False),
        sa.Column("entry_order_id", sa.String(255)),
        sa.Column("exit_order_id", sa.String(255)),
        sa.Column("exit_time", sa.DateTime),
        sa.Column("exit_price", sa.Float),
        sa.Column("exit_size", sa.Float),
        sa.Column("exit_reason", sa.String(50)),
        sa.Column("stop_loss", sa.Float),
        sa.Column("take_profit", sa.Float),
        sa.Column("pnl_usd", sa.Float),
        sa.Column("pnl_pct", sa.Float),
        sa.Column("fees_usd", sa.Float),
        sa.Column("leverage", sa.Integer),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    op.create_table(
        "subaccounts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id")),
        sa.Column("allocated_capital", sa.Float, nullable=False),
        sa.Column("current_balance", sa.Float),
        sa.Column("peak_balance", sa.Float),
        sa.Column("total_trades", sa.Integer),
        sa.Column("status", _enum("subaccount_status"), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    for table in ("subaccounts", "trades", "backtest_results", "strategies"):
        op.drop_table(table)
    for name in ENUMS:
        _enum(name).drop(op.get_bind(), checkfirst=True)
