"""Databases of the original system at each of its revisions after a1f6f9a716cc (PostgreSQL).

The a1f6f9a716cc database of ``legacy_database`` (rows in every old status) is carried forward by
a replay of each later revision, in the original's order: its schema and data changes as SQL (the
facts of the original's ``alembic/versions``), then rows the original's code wrote at that
revision (:func:`_written_at`), in every status its type allows, so that later revisions transform
them as they did on a real database.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from tests.integration.legacy_database import ORIGINAL_014_STEPS, T0, build_postgres

from sixbtc.adapters.sqlalchemy.original_revisions import LATER_IDS

#: Each later revision's schema and data changes (replayed from its upgrade()).
STEPS: dict[str, tuple[str, ...]] = {
    "014_rename_tested_to_active": ORIGINAL_014_STEPS,
    "4888110cfe92": (
        "ALTER TABLE backtest_results ADD COLUMN weighted_max_drawdown double precision",
    ),
    "3af026f58a19": (
        "CREATE TABLE validation_caches (code_hash varchar(64) NOT NULL, "
        "shuffle_passed boolean NOT NULL, validated_at timestamp with time zone NOT NULL, "
        "PRIMARY KEY (code_hash))",
        "ALTER TABLE strategies ADD COLUMN base_code_hash varchar(64)",
        "CREATE INDEX idx_status_base_code_hash ON strategies (status, base_code_hash)",
        "CREATE INDEX ix_strategies_base_code_hash ON strategies (base_code_hash)",
    ),
    "0e81376af4a2": (
        "ALTER TABLE validation_caches ADD COLUMN multi_window_passed boolean",
        "ALTER TABLE validation_caches ADD COLUMN multi_window_reason varchar(200)",
        "ALTER TABLE validation_caches ALTER COLUMN shuffle_passed DROP NOT NULL",
    ),
    "015_strategy_events": (
        "CREATE TABLE strategy_events (id uuid NOT NULL, "
        "timestamp timestamp with time zone NOT NULL, strategy_id uuid, "
        "strategy_name varchar(100) NOT NULL, base_code_hash varchar(64), "
        "event_type varchar(50) NOT NULL, stage varchar(30) NOT NULL, "
        "status varchar(20) NOT NULL, duration_ms integer, event_data json, PRIMARY KEY (id))",
        "CREATE INDEX ix_strategy_events_timestamp ON strategy_events (timestamp)",
        "CREATE INDEX ix_strategy_events_strategy_name ON strategy_events (strategy_name)",
        "CREATE INDEX ix_strategy_events_event_type ON strategy_events (event_type)",
        "CREATE INDEX ix_strategy_events_stage ON strategy_events (stage)",
        "CREATE INDEX idx_events_timestamp ON strategy_events (timestamp)",
        "CREATE INDEX idx_events_stage_status ON strategy_events (stage, status)",
        "CREATE INDEX idx_events_type_time ON strategy_events (event_type, timestamp)",
        "CREATE INDEX idx_events_strategy_time ON strategy_events (strategy_name, timestamp)",
    ),
    "5b467cdc97da": (
        "CREATE TABLE used_indicator_combinations (id serial NOT NULL, "
        "strategy_type varchar(10) NOT NULL, timeframe varchar(10) NOT NULL, "
        "main_indicators varchar[] NOT NULL, filter_indicators varchar[] NOT NULL, "
        "created_at timestamp NOT NULL, PRIMARY KEY (id), CONSTRAINT uq_indicator_combination "
        "UNIQUE (strategy_type, timeframe, main_indicators, filter_indicators))",
        "CREATE INDEX idx_combo_type_tf ON used_indicator_combinations (strategy_type, timeframe)",
        "CREATE INDEX ix_used_indicator_combinations_strategy_type "
        "ON used_indicator_combinations (strategy_type)",
        "CREATE INDEX ix_used_indicator_combinations_timeframe "
        "ON used_indicator_combinations (timeframe)",
    ),
    "b4312de95e92": (
        "CREATE TABLE credentials (id serial NOT NULL, credential_type varchar(20) NOT NULL, "
        "target_type varchar(20) NOT NULL, target_address varchar(42) NOT NULL, "
        "subaccount_id integer, subaccount_name varchar(100), agent_name varchar(100), "
        "agent_address varchar(42) NOT NULL, private_key varchar(66) NOT NULL, "
        "created_at timestamp with time zone NOT NULL, "
        "expires_at timestamp with time zone NOT NULL, is_active boolean NOT NULL, "
        "PRIMARY KEY (id))",
        "CREATE INDEX idx_credential_active_subaccount ON credentials (is_active, subaccount_id)",
        "CREATE INDEX idx_credential_expiry ON credentials (expires_at, is_active)",
        "CREATE INDEX idx_credential_target ON credentials (target_type, target_address)",
        "CREATE INDEX ix_credentials_is_active ON credentials (is_active)",
        "CREATE INDEX ix_credentials_subaccount_id ON credentials (subaccount_id)",
        "CREATE INDEX ix_credentials_target_type ON credentials (target_type)",
        "ALTER TABLE backtest_results DROP CONSTRAINT backtest_results_recent_result_id_fkey",
        "ALTER TABLE backtest_results ADD FOREIGN KEY (recent_result_id) "
        "REFERENCES backtest_results (id)",
        "ALTER TABLE pipeline_metrics_snapshots ALTER COLUMN queue_active SET NOT NULL",
        "ALTER TABLE pipeline_metrics_snapshots ALTER COLUMN queue_tested DROP NOT NULL",
        "ALTER TABLE pipeline_metrics_snapshots ALTER COLUMN queue_selected DROP NOT NULL",
        "DROP INDEX idx_last_backtested",
    ),
    "016_rename_training_holdout_to_is_oos": (
        # Its id has 37 characters, Alembic's version column 32: the original's upgrade fails
        # there unless an operator widened the column, so every database past it has done so.
        "ALTER TABLE alembic_version ALTER COLUMN version_num TYPE varchar(64)",
        "UPDATE backtest_results SET period_type = 'in_sample' WHERE period_type = 'training'",
        "UPDATE backtest_results SET period_type = 'out_of_sample' WHERE period_type = 'holdout'",
    ),
    "775182bcf916": ("ALTER TABLE strategies ADD COLUMN retired_reason varchar(50)",),
    "5f728cbb7dcf": (
        "CREATE TABLE emergency_stop_states (scope varchar(20) NOT NULL, "
        "scope_id varchar(50) NOT NULL, is_stopped boolean NOT NULL, stop_reason varchar(200), "
        "stop_action varchar(20), stopped_at timestamp with time zone, "
        "cooldown_until timestamp with time zone, reset_trigger varchar(50), "
        "created_at timestamp with time zone DEFAULT now(), "
        "updated_at timestamp with time zone, PRIMARY KEY (scope, scope_id))",
        "CREATE INDEX idx_emergency_stop_is_stopped ON emergency_stop_states (is_stopped)",
        "CREATE INDEX idx_emergency_stop_scope ON emergency_stop_states (scope)",
        "ALTER TABLE subaccounts ADD COLUMN peak_balance double precision",
        "ALTER TABLE subaccounts ADD COLUMN peak_balance_updated_at timestamp with time zone",
        "ALTER TABLE subaccounts ADD COLUMN daily_pnl_usd double precision",
        "ALTER TABLE subaccounts ADD COLUMN daily_pnl_reset_date timestamp",
    ),
    "017_add_trading_coins": (
        "ALTER TABLE strategies ADD COLUMN trading_coins json",
        "UPDATE strategies SET trading_coins = COALESCE(pattern_coins, backtest_pairs) "
        "WHERE pattern_coins IS NOT NULL OR backtest_pairs IS NOT NULL",
    ),
    "0b44290a73b2": (
        "ALTER TABLE strategies DROP COLUMN pattern_coins",
        "ALTER TABLE strategies DROP COLUMN backtest_pairs",
    ),
    # Its full map has some 250 old codes; these rows use TRN (-> TRD) and VLM (-> VOL).
    "6d97260858eb": tuple(
        statement
        for old, new in (("TRN", "TRD"), ("VLM", "VOL"))
        for statement in (
            f"UPDATE strategies SET strategy_type = '{new}' WHERE strategy_type = '{old}'",
            f"UPDATE strategies SET name = REPLACE(name, '_{old}_', '_{new}_') "
            f"WHERE strategy_type = '{new}' AND name LIKE '%%\\_{old}\\_%%'",
            f"UPDATE strategies SET code = REPLACE(code, 'Strat_{old}_', 'Strat_{new}_') "
            f"WHERE strategy_type = '{new}' AND code LIKE '%%Strat\\_{old}\\_%%'",
        )
    ),
    "018_add_coin_data_coverage": ("ALTER TABLE coins ADD COLUMN data_coverage_days integer",),
    "019_drop_validation_cache": ("DROP TABLE validation_caches",),
}
assert tuple(STEPS) == LATER_IDS


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(int=(0xDEF << 100) + n)


def _strategy(connection: Connection, n: int, name: str, status: str, **values) -> None:
    columns = {
        "id": _id(n),
        "name": name,
        "strategy_type": values.pop("strategy_type", "MOM"),
        "timeframe": "1h",
        "status": status,
        "code": values.pop("code", f"class PGnStrat_MOM_{n}: pass"),
        "created_at": T0 + timedelta(days=10, hours=n),
        **values,
    }
    names = ", ".join(columns)
    marks = ", ".join(f":{c}" for c in columns)
    connection.execute(sa.text(f"INSERT INTO strategies ({names}) VALUES ({marks})"), columns)


def _written_at(connection: Connection, revision: str) -> None:
    """Rows the original's code wrote while the database was at ``revision``."""
    at = T0 + timedelta(days=20)
    run = connection.exec_driver_sql
    if revision == "014_rename_tested_to_active":
        # Every label of its type: ACTIVE with and without a re-backtest time, and TESTED and
        # SELECTED (still labels of the type) written by code that had not been updated.
        _strategy(connection, 1, "active_rebacktested", "ACTIVE", last_backtested_at=at)
        _strategy(connection, 2, "active_never_rebacktested", "ACTIVE", tested_at=at)
        _strategy(connection, 3, "tested_after_014", "TESTED", tested_at=at)
        _strategy(connection, 4, "selected_after_014", "SELECTED")
        _strategy(
            connection,
            5,
            "PGnStrat_TRN_a1",
            "ACTIVE",
            strategy_type="TRN",
            code="class PGnStrat_TRN_a1(StrategyCore): pass",
            pattern_coins='["BTC", "ETH"]',
            backtest_pairs='["SOL"]',
        )
        _strategy(
            connection,
            6,
            "PGnStrat_VLM_b2",
            "FAILED",
            strategy_type="VLM",
            backtest_pairs='["SOL"]',
        )
        run(
            "INSERT INTO backtest_results (id, strategy_id, lookback_days, initial_capital, "
            "start_date, end_date, total_trades, period_type, created_at) VALUES "
            f"('{_id(101)}', '{_id(1)}', 90, 10000, '{T0}', '{at}', 5, 'training', '{at}'), "
            f"('{_id(102)}', '{_id(1)}', 90, 10000, '{T0}', '{at}', 3, 'holdout', '{at}')"
        )
        run("INSERT INTO pipeline_metrics_snapshots VALUES (2, 4, 0, 1, 0.2, 5, 0.4)")
    elif revision == "4888110cfe92":
        run(f"UPDATE backtest_results SET weighted_max_drawdown = 0.12 WHERE id = '{_id(101)}'")
    elif revision == "3af026f58a19":
        run("INSERT INTO validation_caches VALUES ('h1', true, '2024-03-20 10:00:00+00')")
        _strategy(connection, 7, "validated_batch", "VALIDATED", base_code_hash="h1")
        run(f"UPDATE strategies SET base_code_hash = 'h1' WHERE id = '{_id(1)}'")
    elif revision == "0e81376af4a2":
        run(
            "INSERT INTO validation_caches VALUES ('h2', NULL, '2024-03-21 10:00:00+00', false, 'x')"
        )
    elif revision == "015_strategy_events":
        run(
            "INSERT INTO strategy_events VALUES "
            f"('{_id(201)}', '2024-03-22 10:00:00+00', '{_id(7)}', 'validated_batch', 'h1', "
            "'syntax_passed', 'validation', 'passed', 12, '{\"phase\": \"syntax\"}'), "
            f"('{_id(202)}', '2024-03-22 11:00:00+00', NULL, 'deleted_one', NULL, 'failed', "
            "'generation', 'failed', NULL, 'null'), "
            f"('{_id(203)}', '2024-03-22 12:00:00+00', '{_id(1)}', 'active_rebacktested', NULL, "
            "'entered_pool', 'pool', 'completed', NULL, NULL)"
        )
    elif revision == "5b467cdc97da":
        run(
            "INSERT INTO used_indicator_combinations (strategy_type, timeframe, main_indicators, "
            "filter_indicators, created_at) VALUES ('MOM', '1h', '{RSI,MACD}', '{}', "
            f"'{at}')"
        )
    elif revision == "b4312de95e92":
        run(
            "INSERT INTO credentials (credential_type, target_type, target_address, "
            "subaccount_id, agent_address, private_key, created_at, expires_at, is_active) "
            "VALUES ('agent_wallet', 'subaccount', '0xabc', 1, '0xdef', '0x' || repeat('0', 64), "
            "'2024-03-23 00:00:00+00', '2024-09-23 00:00:00+00', true)"
        )
    elif revision == "016_rename_training_holdout_to_is_oos":
        _strategy(connection, 8, "generated_late", "GENERATED")
    elif revision == "775182bcf916":
        _strategy(
            connection, 9, "retired_evicted", "RETIRED", retired_at=at, retired_reason="evicted"
        )
        _strategy(
            connection,
            10,
            "retired_retest",
            "RETIRED",
            retired_at=at,
            retired_reason="retest_failed",
        )
        _strategy(connection, 11, "failed_late", "FAILED")
        _strategy(connection, 12, "live_late", "LIVE", live_since=at)
    elif revision == "5f728cbb7dcf":
        run(
            "INSERT INTO emergency_stop_states (scope, scope_id, is_stopped, stop_reason) VALUES "
            "('portfolio', 'global', false, NULL), ('subaccount', '1', true, 'drawdown 25 pct')"
        )
        run("UPDATE subaccounts SET daily_pnl_usd = -3.5, daily_pnl_reset_date = '2024-03-24'")
    elif revision == "017_add_trading_coins":
        _strategy(connection, 13, "with_trading_coins", "ACTIVE", trading_coins='["BTC"]')
    elif revision == "018_add_coin_data_coverage":
        run("UPDATE coins SET data_coverage_days = 120 WHERE symbol = 'BTC'")


def build_at(url: str, revision: str) -> None:
    """An original-system database at its ``revision`` (a1f6f9a716cc or later), with data."""
    build_postgres(url)
    # Statement by statement, as the original's 014 ran after its COMMIT (a new enum label is
    # usable only once committed).
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        for later in LATER_IDS[: LATER_IDS.index(revision) + 1] if revision in LATER_IDS else ():
            for statement in STEPS[later]:
                connection.exec_driver_sql(statement)
            _written_at(connection, later)
            connection.execute(sa.text("UPDATE alembic_version SET version_num = :v"), {"v": later})
    engine.dispose()
