"""A database of the original system (LEGACY_DB.md), with rows in every old status.

PostgreSQL: built with the original DDL (enum types, uuid, json/jsonb, extra tables and columns our
schema does not use), stamped ``a1f6f9a716cc``. SQLite: our first revision plus the same extras.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sixbtc.adapters.sqlalchemy import migrations

LEGACY_REVISION = "a1f6f9a716cc"
T0 = datetime(2024, 3, 1, 8, 30)

POSTGRES_DDL = """
CREATE TYPE strategy_status AS ENUM ({labels});
CREATE TYPE trade_direction AS ENUM ('LONG', 'SHORT');
CREATE TYPE subaccount_status AS ENUM ('ACTIVE', 'PAUSED', 'STOPPED');
CREATE TABLE strategies (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name varchar(255) NOT NULL UNIQUE,
  strategy_type varchar(50) NOT NULL, timeframe varchar(10) NOT NULL,
  status strategy_status NOT NULL, processing_by varchar(100), processing_started_at timestamp,
  code text NOT NULL, parameters json, parametric_backtest_metrics jsonb,
  created_at timestamp NOT NULL, tested_at timestamp, live_since timestamp, retired_at timestamp,
  optimal_timeframe varchar(10), score_backtest double precision, score_live double precision,
  win_rate_live double precision, expectancy_live double precision, sharpe_live double precision,
  max_drawdown_live double precision, total_pnl_live double precision,
  live_degradation_pct double precision, total_trades_live integer, last_live_update timestamp,
  ai_provider varchar(50), generation_prompt text, pattern_based boolean, pattern_ids json,
  template_id uuid, generation_mode varchar(20), backtest_pairs json, backtest_date timestamp,
  pattern_coins json, validation_completed_at timestamp, backtest_completed_at timestamp,
  processing_completed_at timestamp);
CREATE INDEX ix_strategies_status ON strategies (status);
{status_indexes}
CREATE TABLE backtest_results (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), strategy_id uuid NOT NULL REFERENCES strategies(id),
  lookback_days integer NOT NULL, initial_capital double precision NOT NULL,
  start_date timestamp NOT NULL, end_date timestamp NOT NULL, total_trades integer NOT NULL,
  win_rate double precision, sharpe_ratio double precision, expectancy double precision,
  max_drawdown double precision, final_equity double precision, total_return_pct double precision,
  timeframe_tested varchar(10), is_optimal_tf boolean, period_type varchar(20), period_days integer,
  weighted_sharpe double precision, weighted_win_rate double precision,
  weighted_expectancy double precision, recent_result_id uuid REFERENCES backtest_results(id),
  created_at timestamp NOT NULL, raw_metrics jsonb);
CREATE TABLE trades (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(), strategy_id uuid NOT NULL REFERENCES strategies(id),
  symbol varchar(20) NOT NULL, subaccount_id integer NOT NULL, direction trade_direction NOT NULL,
  entry_time timestamp NOT NULL, entry_price double precision NOT NULL,
  entry_size double precision NOT NULL, entry_order_id varchar(255), exit_order_id varchar(255),
  exit_time timestamp, exit_price double precision, exit_size double precision,
  exit_reason varchar(50), stop_loss double precision, take_profit double precision,
  pnl_usd double precision, pnl_pct double precision, fees_usd double precision, leverage integer,
  created_at timestamp NOT NULL);
CREATE TABLE subaccounts (
  id integer PRIMARY KEY, strategy_id uuid REFERENCES strategies(id),
  allocated_capital double precision NOT NULL, current_balance double precision,
  total_trades integer, status subaccount_status NOT NULL,
  created_at timestamp NOT NULL, api_wallet varchar(100));
CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY);
INSERT INTO alembic_version VALUES ('a1f6f9a716cc');
"""

#: Old tables our schema does not use; they must come through untouched (both dialects).
EXTRA_TABLES_DDL = """
CREATE TABLE strategy_templates (id integer PRIMARY KEY, name varchar(100), body text);
CREATE TABLE performance_snapshots (id integer PRIMARY KEY, strategy_id varchar(40), equity float);
CREATE TABLE pipeline_metrics_snapshots (id integer PRIMARY KEY, queue_tested integer,
  queue_selected integer, queue_failed integer, utilization_tested float);
CREATE TABLE coins (symbol varchar(20) PRIMARY KEY, active boolean);
CREATE TABLE scheduled_task_executions (id integer PRIMARY KEY, task varchar(50));
CREATE TABLE pairs_update_log (id integer PRIMARY KEY, note text);
INSERT INTO strategy_templates VALUES (1, 'momentum', 'def f(): pass');
INSERT INTO performance_snapshots VALUES (1, 'x', 1.5), (2, 'y', 0.9);
INSERT INTO pipeline_metrics_snapshots VALUES (1, 12, 3, 4, 0.75);
INSERT INTO coins VALUES ('BTC', true), ('ETH', false);
INSERT INTO scheduled_task_executions VALUES (1, 'refresh');
INSERT INTO pairs_update_log VALUES (1, 'added SOL');
"""
#: The original system's other indexes on the status column (both dialects).
STATUS_INDEXES = (
    "CREATE INDEX idx_status_timeframe ON strategies (status, timeframe)",
    "CREATE INDEX idx_strategy_type_status ON strategies (strategy_type, status)",
    "CREATE INDEX idx_status_processing ON strategies (status, processing_by)",
)
SQLITE_EXTRA_COLUMNS = (
    "ALTER TABLE strategies ADD COLUMN ai_provider varchar(50)",
    "ALTER TABLE strategies ADD COLUMN pattern_ids JSON",
    "ALTER TABLE backtest_results ADD COLUMN raw_metrics JSON",
    "ALTER TABLE subaccounts ADD COLUMN api_wallet varchar(100)",
    *STATUS_INDEXES,
)
LEGACY_LABELS = ("GENERATED", "VALIDATED", "TESTED", "SELECTED", "LIVE", "RETIRED", "FAILED")

strategies = sa.table(
    "strategies",
    *(sa.column(c) for c in ("name", "strategy_type", "timeframe", "status", "code")),
    sa.column("id", sa.Uuid),
    sa.column("parameters", sa.JSON),
    sa.column("pattern_ids", sa.JSON),
    sa.column("score_backtest", sa.Float),
    *(sa.column(c, sa.DateTime) for c in ("created_at", "tested_at", "live_since", "retired_at")),
)
backtests = sa.table(
    "backtest_results",
    sa.column("id", sa.Uuid),
    sa.column("strategy_id", sa.Uuid),
    sa.column("recent_result_id", sa.Uuid),
    sa.column("raw_metrics", sa.JSON),
    *(sa.column(c) for c in ("lookback_days", "initial_capital", "total_trades", "period_type")),
    *(sa.column(c, sa.DateTime) for c in ("start_date", "end_date", "created_at")),
)
trades = sa.table(
    "trades",
    sa.column("id", sa.Uuid),
    sa.column("strategy_id", sa.Uuid),
    *(sa.column(c) for c in ("symbol", "subaccount_id", "direction", "entry_price", "entry_size")),
    *(sa.column(c, sa.DateTime) for c in ("entry_time", "created_at")),
)
subaccounts = sa.table(
    "subaccounts",
    sa.column("strategy_id", sa.Uuid),
    *(sa.column(c) for c in ("id", "allocated_capital", "status", "api_wallet")),
    sa.column("created_at", sa.DateTime),
)


def strategy_id(n: int) -> uuid.UUID:
    """The id of the strategy of ``ROWS[n]``."""
    return uuid.UUID(int=(0xABC << 100) + n)


#: (name, old status, tested_at given, backtest run days (offsets from T0)).
ROWS: list[tuple[str, str, bool, tuple[int, ...]]] = [
    ("gen", "GENERATED", False, ()),
    ("val", "VALIDATED", False, ()),
    ("tested_backtests", "TESTED", True, (3, 9)),
    ("tested_only_tested_at", "TESTED", True, ()),
    ("tested_nothing", "TESTED", False, ()),
    ("selected", "SELECTED", True, (5,)),
    ("selected_nothing", "SELECTED", False, ()),
    ("live", "LIVE", True, (2,)),
    ("retired", "RETIRED", True, (1,)),
    ("failed", "FAILED", False, ()),
    ("failed_tested", "FAILED", True, (4,)),
]


def populate(connection: Connection, rows: list[tuple[str, str, bool, tuple[int, ...]]] = ROWS):
    """Insert strategies (same code twice among them), backtests, trades and subaccounts."""
    for i, (name, status, tested, runs) in enumerate(rows):
        sid = strategy_id(i)
        connection.execute(
            strategies.insert().values(
                id=sid,
                name=name,
                strategy_type="MOM" if i % 2 else "SCA",
                timeframe="15m" if i % 3 else "2h",
                status=status,
                code="def f(x):\n    return x\n" if i in (0, 1) else f"code {i}",
                # JSON null, SQL NULL and objects: each must come back as it was.
                parameters=sa.null() if i % 4 == 3 else None if i % 2 else {"period": i},
                pattern_ids=sa.null() if i % 3 else None,
                score_backtest=10.0 * i if i % 4 else None,
                created_at=T0 + timedelta(hours=i),
                tested_at=T0 + timedelta(days=1, hours=i) if tested else None,
                live_since=T0 + timedelta(days=2) if status == "LIVE" else None,
                retired_at=T0 + timedelta(days=3) if status == "RETIRED" else None,
            )
        )
        for r, day in enumerate(runs):
            recent = uuid.UUID(int=sid.int + 1000 + r)
            full = uuid.UUID(int=sid.int + 2000 + r)
            common = dict(
                strategy_id=sid, lookback_days=90, initial_capital=10_000.0, total_trades=7,
                start_date=T0, end_date=T0 + timedelta(days=day),
                raw_metrics=sa.null() if r else None,
                created_at=T0 + timedelta(days=day, minutes=i),
            )  # fmt: skip
            connection.execute(backtests.insert().values(id=recent, period_type="recent", **common))
            connection.execute(
                backtests.insert().values(
                    id=full, period_type="full", recent_result_id=recent, **common
                )
            )
        if status in ("LIVE", "RETIRED"):
            connection.execute(
                trades.insert().values(
                    id=uuid.UUID(int=sid.int + 3000),
                    strategy_id=sid,
                    symbol="BTC",
                    subaccount_id=i,
                    direction="LONG",
                    entry_price=60_000.0,
                    entry_size=0.01,
                    entry_time=T0,
                    created_at=T0,
                )
            )
            connection.execute(
                subaccounts.insert().values(
                    id=i,
                    strategy_id=sid,
                    allocated_capital=1000.0,
                    status="ACTIVE",
                    api_wallet=f"0x{i}",
                    created_at=T0,
                )
            )
    connection.execute(
        subaccounts.insert().values(
            id=99, strategy_id=None, allocated_capital=0.0, status="PAUSED", created_at=T0
        )
    )


def build_postgres(url: str, labels: tuple[str, ...] = LEGACY_LABELS, rows=ROWS) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        quoted = ", ".join(f"'{label}'" for label in labels)
        indexes = ";\n".join(STATUS_INDEXES) + ";"
        connection.exec_driver_sql(POSTGRES_DDL.format(labels=quoted, status_indexes=indexes))
        connection.exec_driver_sql(EXTRA_TABLES_DDL)
        populate(connection, rows)
    engine.dispose()


#: What the original system's migration 014 did after its raw COMMIT, in order. Its driver
#: (psycopg2) then committed each statement on its own, so a failure at step k kept steps 1..k-1
#: and the version ``a1f6f9a716cc``: each prefix is a state a real database may be in.
ORIGINAL_014_STEPS = (
    "ALTER TYPE strategy_status ADD VALUE IF NOT EXISTS 'ACTIVE'",
    "UPDATE strategies SET status = 'ACTIVE' WHERE status = 'TESTED'",
    "UPDATE strategies SET status = 'ACTIVE' WHERE status = 'SELECTED'",
    "ALTER TABLE strategies ADD COLUMN last_backtested_at timestamp",
    "UPDATE strategies SET last_backtested_at = tested_at "
    "WHERE status = 'ACTIVE' AND tested_at IS NOT NULL",
    "CREATE INDEX idx_last_backtested ON strategies (last_backtested_at)",
    "ALTER TABLE pipeline_metrics_snapshots ADD COLUMN queue_active integer",
    "ALTER TABLE pipeline_metrics_snapshots ADD COLUMN utilization_active float",
    "UPDATE pipeline_metrics_snapshots SET queue_active = queue_tested",
    "UPDATE pipeline_metrics_snapshots SET utilization_active = utilization_tested",
)


def run_original_014_until(url: str, failing_step: int) -> None:
    """Leave the PostgreSQL database at ``url`` as the original migration 014 did when its step
    ``failing_step`` (1-based; one past the last: the version update) failed."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for statement in ORIGINAL_014_STEPS[: failing_step - 1]:
            connection.exec_driver_sql(statement)
    engine.dispose()


def build_sqlite(url: str) -> None:
    migrations.upgrade(url, LEGACY_REVISION)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in SQLITE_EXTRA_COLUMNS:
            connection.exec_driver_sql(statement)
        for statement in EXTRA_TABLES_DDL.split(";"):
            if statement.strip():
                connection.exec_driver_sql(statement)
        populate(connection)
    engine.dispose()


def columns(url: str) -> dict[str, list[str]]:
    """The column names of every table."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        found = {
            name: [c["name"] for c in inspector.get_columns(name)]
            for name in inspector.get_table_names()
        }
    engine.dispose()
    return found


def schema(url: str) -> dict[str, dict[str, list]]:
    """Every table's columns (name, type, nullable), indexes, unique, foreign key and check
    constraints, as comparable lists."""
    engine = sa.create_engine(url)
    found = {}
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        for name in inspector.get_table_names():
            found[name] = {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(name)
                ],
                "indexes": sorted(
                    (i["name"], tuple(i["column_names"]), bool(i["unique"]))
                    for i in inspector.get_indexes(name)
                ),
                "unique": sorted(
                    tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)
                ),
                "foreign_keys": sorted(
                    (tuple(f["constrained_columns"]), f["referred_table"], str(f["options"]))
                    for f in inspector.get_foreign_keys(name)
                ),
                "checks": sorted(c["sqltext"] for c in inspector.get_check_constraints(name)),
            }
    engine.dispose()
    return found


Snapshot = dict[str, list[tuple[tuple[str, str], ...]]]


def _as_stored(column: sa.Column) -> sa.ColumnElement:
    # JSON columns are read as their text, so that JSON null ('null') and SQL NULL (None) differ.
    if isinstance(column.type, sa.JSON):
        return sa.cast(column, sa.Text).label(column.name)
    return column


def snapshot(url: str, only: dict[str, list[str]] | None = None) -> Snapshot:
    """Every row of every table (or of the tables and columns in ``only``), as sorted tuples of
    ``(column, repr(value))``; JSON values as stored text."""
    engine = sa.create_engine(url)
    wanted = only if only is not None else columns(url)
    result = {}
    with engine.connect() as connection:
        for name, names in wanted.items():
            table = sa.Table(name, sa.MetaData(), autoload_with=connection)
            query = sa.select(*(_as_stored(table.c[c]) for c in sorted(names)))
            rows = connection.execute(query).mappings()
            result[name] = sorted(tuple((k, repr(v)) for k, v in row.items()) for row in rows)
    engine.dispose()
    return result


def without(rows: list[tuple[tuple[str, str], ...]], column: str) -> list:
    """``rows`` of a snapshot with ``column`` left out."""
    return sorted(tuple(cell for cell in row if cell[0] != column) for row in rows)
