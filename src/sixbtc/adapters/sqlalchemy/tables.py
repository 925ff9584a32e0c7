"""The tables the pipeline reads and writes (strategies, their events, backtest runs, live trades,
subaccounts), as plain SQLAlchemy Core tables.

They describe the schema at the head Alembic revision (``alembic/versions``): the original system's
tables (only the columns we use; an upgraded database keeps its other columns and tables untouched)
plus ours. Timestamps are stored as ``timestamp without time zone`` holding UTC, as the original
system did; :class:`UtcDateTime` turns them into aware UTC datetimes at this boundary.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from sixbtc.domain.strategy import Status

metadata = sa.MetaData()


class UtcDateTime(sa.TypeDecorator[datetime]):
    """A naive UTC ``timestamp`` column seen as an aware UTC ``datetime``."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value.isoformat()} is naive; expected an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


#: JSON has no literal for these; they are stored as these strings (PostgreSQL's JSON refuses the
#: ``Infinity`` and ``NaN`` tokens Python writes).
_NON_FINITE = {"Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}


def _encode_figure(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _encode_figure(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_encode_figure(item) for item in value]
    return value


def _decode_figure(value: Any) -> Any:
    if isinstance(value, str):
        return _NON_FINITE.get(value, value)
    if isinstance(value, dict):
        return {key: _decode_figure(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_figure(item) for item in value]
    return value


class FiguresJSON(sa.TypeDecorator[Any]):
    """JSON of figures (metrics) that may be infinite or NaN, identical on every backend: a profit
    factor without a losing trade is ``inf``. Non-finite numbers travel as the strings
    ``"Infinity"``, ``"-Infinity"`` and ``"NaN"``; rows SQLite stored with the bare tokens read back
    the same."""

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> Any:
        return _encode_figure(value)

    def process_result_value(self, value: Any, dialect) -> Any:
        return _decode_figure(value)


#: The five statuses; on PostgreSQL the enum type the original system named ``strategy_status``.
strategy_status = sa.Enum(
    *(s.value for s in Status), name="strategy_status", create_constraint=True
)

strategies = sa.Table(
    "strategies",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, unique=True),
    sa.Column("strategy_type", sa.String(50), nullable=False),
    sa.Column("timeframe", sa.String(10)),
    sa.Column("status", strategy_status, nullable=False),
    sa.Column("code", sa.Text, nullable=False),
    sa.Column("parameters", sa.JSON),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("tested_at", UtcDateTime),
    sa.Column("live_since", UtcDateTime),
    sa.Column("retired_at", UtcDateTime),
    sa.Column("optimal_timeframe", sa.String(10)),
    sa.Column("score_backtest", sa.Float),
    sa.Column("score_live", sa.Float),
    sa.Column("last_backtested_at", UtcDateTime),
    sa.Column("retired_reason", sa.Text),
    sa.Column("code_hash", sa.String(64)),
    sa.Column("claimed_by", sa.String(100)),
    sa.Column("claim_expires_at", UtcDateTime),
    sa.Column("backtest_coins", sa.JSON),
    sa.Column("work_failures", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_work_error", sa.Text),
    sa.Column("work_failed_at", UtcDateTime),
    sa.Column("retry_after", UtcDateTime),
)

strategy_events = sa.Table(
    "strategy_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
    sa.Column("from_status", sa.String(20), nullable=False),
    sa.Column("to_status", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("service", sa.String(50), nullable=False),
)

backtest_results = sa.Table(
    "backtest_results",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
    sa.Column("lookback_days", sa.Integer, nullable=False),
    sa.Column("initial_capital", sa.Float, nullable=False),
    sa.Column("start_date", UtcDateTime, nullable=False),
    sa.Column("end_date", UtcDateTime, nullable=False),
    sa.Column("total_trades", sa.Integer, nullable=False),
    sa.Column("timeframe_tested", sa.String(10)),
    sa.Column("is_optimal_tf", sa.Boolean),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("run_kind", sa.String(10)),
    sa.Column("training_end", UtcDateTime),
    sa.Column("holdout_start", UtcDateTime),
    sa.Column("execution_parameters", sa.JSON),
    sa.Column("training_metrics", FiguresJSON),
    sa.Column("holdout_metrics", FiguresJSON),
    sa.Column("score", sa.Float),
    #: [[bar open time in UTC ms, equity], ...] across both windows, downsampled.
    sa.Column("equity_curve", FiguresJSON),
    #: [{symbol, window, trades, win_rate, mean_return, total_return}, ...]
    sa.Column("coin_results", FiguresJSON),
    #: {neighbourhood: {score, neighbours}, bands: {trades, draws, drawdown, sharpe}}
    sa.Column("robustness", FiguresJSON),
)

trades = sa.Table(
    "trades",
    metadata,
    sa.Column("id", sa.Uuid, primary_key=True),
    sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
    sa.Column("symbol", sa.String(20), nullable=False),
    sa.Column("subaccount_id", sa.Integer, nullable=False),
    sa.Column(
        "direction",
        sa.Enum("LONG", "SHORT", name="trade_direction", create_constraint=True),
        nullable=False,
    ),
    sa.Column("entry_time", UtcDateTime, nullable=False),
    sa.Column("entry_price", sa.Float, nullable=False),
    sa.Column("entry_size", sa.Float, nullable=False),
    sa.Column("entry_order_id", sa.String(255)),
    sa.Column("exit_order_id", sa.String(255)),
    sa.Column("exit_time", UtcDateTime),
    sa.Column("exit_price", sa.Float),
    sa.Column("exit_size", sa.Float),
    sa.Column("exit_reason", sa.String(50)),
    sa.Column("stop_loss", sa.Float),
    sa.Column("take_profit", sa.Float),
    sa.Column("pnl_usd", sa.Float),
    sa.Column("pnl_pct", sa.Float),
    sa.Column("fees_usd", sa.Float),
    sa.Column("leverage", sa.Integer),
    sa.Column("created_at", UtcDateTime, nullable=False),
    #: The leverage as it is (``leverage``, the original system's integer, is kept rounded).
    sa.Column("leverage_ratio", sa.Float),
)

#: The executor's orders, each recorded with its client id before it is sent; ``candle_at`` is
#: the closed candle it acts on, ``atr`` what its protection's ATR stop uses.
orders = sa.Table(
    "orders",
    metadata,
    sa.Column("client_order_id", sa.String(64), primary_key=True),
    sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id"), nullable=False),
    sa.Column("subaccount_id", sa.Integer, nullable=False),
    sa.Column("symbol", sa.String(20), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("reduce_only", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("candle_at", UtcDateTime, nullable=False),
    sa.Column("atr", sa.Float),
    sa.Index("ix_orders_subaccount_status", "subaccount_id", "status"),
)


def _fill_columns() -> list[sa.Column]:
    """An execution's columns, keyed by subaccount and the exchange's sequence number."""
    return [
        sa.Column("subaccount_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sequence", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("client_order_id", sa.String(64), nullable=False),
        sa.Column("symbol", sa.String(20), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("price", sa.Float, nullable=False),
        sa.Column("fee", sa.Float, nullable=False),
        sa.Column("filled_at", UtcDateTime, nullable=False),
        sa.Column("reason", sa.String(20)),
    ]


#: Every execution the exchange reported, by subaccount and the exchange's sequence number; a fill
#: of an order the exchange made (a stop, a target, a close) has a client id no order row has.
fills = sa.Table(
    "fills", metadata, *_fill_columns(), sa.Index("ix_fills_client_order_id", "client_order_id")
)

#: The paper exchange's books: one JSON document per subaccount (cash, bars seen, positions and
#: waiting orders per symbol), every request id it took, and every fill it made.
paper_accounts = sa.Table(
    "paper_accounts",
    metadata,
    sa.Column("subaccount_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("book", FiguresJSON, nullable=False),
)
paper_requests = sa.Table(
    "paper_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("subaccount_id", sa.Integer, nullable=False),
    sa.Column("request", sa.JSON, nullable=False),
)
paper_fills = sa.Table("paper_fills", metadata, *_fill_columns())

#: One subaccount per LIVE strategy (ids 1..10 in practice); ``status`` is the account's own
#: ACTIVE/PAUSED/STOPPED, not a strategy status.
subaccounts = sa.Table(
    "subaccounts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("strategy_id", sa.Uuid, sa.ForeignKey("strategies.id")),
    sa.Column("allocated_capital", sa.Float, nullable=False),
    sa.Column("current_balance", sa.Float),
    sa.Column("peak_balance", sa.Float),
    sa.Column("total_trades", sa.Integer),
    sa.Column(
        "status",
        sa.Enum("ACTIVE", "PAUSED", "STOPPED", name="subaccount_status", create_constraint=True),
        nullable=False,
    ),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

#: One row per service process (``owner`` is ``host:pid``): its latest tick and error.
service_heartbeats = sa.Table(
    "service_heartbeats",
    metadata,
    sa.Column("service", sa.String(40), primary_key=True),
    sa.Column("owner", sa.String(100), primary_key=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("beat_at", UtcDateTime, nullable=False),
    sa.Column("ticks", sa.Integer, nullable=False),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("last_error_at", UtcDateTime),
    sa.Column("stopped_at", UtcDateTime),
)

#: The kill switch: every halt and flatten, who set it and why, and when it was lifted.
trading_halts = sa.Table(
    "trading_halts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("cause", sa.String(20), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("set_by", sa.String(200), nullable=False),
    sa.Column("set_at", UtcDateTime, nullable=False),
    sa.Column("flattened_at", UtcDateTime),
    sa.Column("lifted_at", UtcDateTime),
    sa.Column("lifted_by", sa.String(200)),
)

#: Reconciliation's mismatches between a subaccount on the exchange and our records.
trading_issues = sa.Table(
    "trading_issues",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("subaccount_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("found_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime),
    sa.Column("resolved_by", sa.String(200)),
)

#: The portfolio's value (main account plus subaccounts) through each UTC day.
portfolio_days = sa.Table(
    "portfolio_days",
    metadata,
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("opening", sa.Float, nullable=False),
    sa.Column("peak", sa.Float, nullable=False),
    sa.Column("low", sa.Float, nullable=False),
    sa.Column("last", sa.Float, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("loss_halted", sa.Boolean, nullable=False),
)

#: A live exchange's requests that carry no client id there (transfers), journalled before they
#: are sent so that a retry never moves money twice.
exchange_requests = sa.Table(
    "exchange_requests",
    metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("subaccount_id", sa.Integer, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("amount", sa.Float, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
