"""Alembic revisions: the stairway, an original-system database upgraded and downgraded with every
row checked, refusal of unknown statuses and atomicity, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from tests.integration.legacy_database import (
    LEGACY_LABELS,
    LEGACY_REVISION,
    ORIGINAL_014_STEPS,
    ROWS,
    T0,
    build_postgres,
    build_sqlite,
    columns,
    run_original_014_until,
    schema,
    snapshot,
    strategy_id,
    without,
)

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.adapters.sqlalchemy.migrations import MigrationRefused
from sixbtc.adapters.sqlalchemy.tables import metadata
from sixbtc.application import pool
from sixbtc.domain.backtest import ExecutionParameters
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe

NEW_STATUS = {"TESTED": "ACTIVE", "SELECTED": "ACTIVE", "FAILED": "RETIRED"}


def revisions() -> list[str]:
    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def legacy_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An original-system database with data, stamped a1f6f9a716cc."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
        build_sqlite(url)
    else:
        url = request.getfixturevalue("postgres_url")
        build_postgres(url)
    yield url


def status_labels(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        labels = connection.execute(
            sa.text(
                "SELECT enumlabel FROM pg_enum WHERE enumtypid = 'strategy_status'::regtype "
                "ORDER BY enumsortorder"
            )
        ).scalars()
        labels = list(labels)
    engine.dispose()
    return labels


def test_revisions_start_with_the_original_schema() -> None:
    assert revisions()[0] == LEGACY_REVISION
    assert len(revisions()) >= 3


def test_stairway_upgrade_downgrade_upgrade_each_revision(empty_url: str) -> None:
    previous = "base"
    for revision in revisions():
        migrations.upgrade(empty_url, revision)
        migrations.downgrade(empty_url, previous)
        migrations.upgrade(empty_url, revision)
        assert migrations.current(empty_url) == revision
        previous = revision
    migrations.downgrade(empty_url, "base")
    assert set(columns(empty_url)) == {"alembic_version"}


#: What the migration may change in the old schema: the type of ``strategies.status`` (five
#: statuses; on SQLite its CHECK constraint) and ``strategies.timeframe`` becoming optional.
CHANGED_COLUMNS = {("strategies", "status"), ("strategies", "timeframe")}


def assert_old_schema_kept(old: dict, new: dict) -> None:
    """Every old table, column (same type and nullability unless in CHANGED_COLUMNS), index, unique
    and foreign key is still in ``new``."""
    for table, parts in old.items():
        kept = {c[0]: c for c in new[table]["columns"]}
        for column in parts["columns"]:
            name = column[0]
            assert name in kept, (table, name)
            assert (table, name) in CHANGED_COLUMNS or kept[name] == column, (table, name)
        for part in ("indexes", "unique", "foreign_keys"):
            assert set(parts[part]) <= set(new[table][part]), (table, part)


def test_original_database_upgrades_and_downgrades_row_for_row(legacy_url: str) -> None:
    before_columns, before_schema = columns(legacy_url), schema(legacy_url)
    before = snapshot(legacy_url)
    assert any(cell == ("parameters", "None") for row in before["strategies"] for cell in row)
    assert any(cell == ("parameters", "'null'") for row in before["strategies"] for cell in row)
    migrations.upgrade(legacy_url)
    assert migrations.current(legacy_url) == revisions()[-1]
    assert_old_schema_kept(before_schema, schema(legacy_url))

    unchanged = {t: [c for c in cs if c != "status"] for t, cs in before_columns.items()}
    unchanged.pop("alembic_version")
    after = snapshot(legacy_url, unchanged)
    assert after == {t: without(before[t], "status") for t in unchanged}

    engine = create_engine(legacy_url)
    with engine.connect() as connection:
        rows = {r.id: r for r in connection.execute(sa.text("SELECT * FROM strategies"))}
    with SqlAlchemyUnitOfWork(engine) as uow:
        for index, (_, old_status, _, _) in enumerate(ROWS):
            sid = strategy_id(index)
            strategy = uow.strategies.get(sid)
            assert strategy.status == NEW_STATUS.get(old_status, old_status)
            events = uow.strategies.events(sid)
            if old_status in NEW_STATUS:
                assert [(e.from_status, e.to_status, e.reason) for e in events] == [
                    (old_status, NEW_STATUS[old_status], "migration")
                ]
            else:
                assert events == []
            if old_status == "FAILED":
                assert strategy.retired_reason == "failed"
            if strategy.status in (Status.ACTIVE, Status.LIVE):
                assert strategy.last_backtested_at == expected_last_backtest(index)
        assert uow.strategies.count(Status.ACTIVE) == 5
        # the original's subaccounts had no peak_balance before its 5f728cbb7dcf: added
        assert {a.id: a.peak_balance for a in uow.subaccounts.all()}[99] is None
    with pytest.raises(sa.exc.DBAPIError), engine.begin() as connection:
        connection.execute(sa.text("UPDATE strategies SET status = 'TESTED'"))
    engine.dispose()
    assert len(rows) == len(ROWS)

    migrations.downgrade(legacy_url, LEGACY_REVISION)
    assert schema(legacy_url) == before_schema
    assert snapshot(legacy_url) == before
    if legacy_url.startswith("postgresql"):
        assert status_labels(legacy_url) == [
            "GENERATED", "VALIDATED", "TESTED", "SELECTED", "LIVE", "RETIRED", "FAILED"
        ]  # fmt: skip


def expected_last_backtest(index: int) -> datetime:
    """Latest backtest, else tested_at, else created_at (as ``legacy_database`` builds them)."""
    _, _, tested, runs = ROWS[index]
    if runs:
        when = T0 + timedelta(days=max(runs), minutes=index)
    elif tested:
        when = T0 + timedelta(days=1, hours=index)
    else:
        when = T0 + timedelta(hours=index)
    return when.replace(tzinfo=UTC)


OTHER_ORDER = (
    "PENDING",
    "GENERATED",
    "VALIDATED",
    "TESTED",
    "LIVE",
    "RETIRED",
    "SELECTED",
    "FAILED",
)


def test_labels_are_read_from_the_database_and_restored(postgres_url: str) -> None:
    build_postgres(postgres_url, labels=OTHER_ORDER)
    # A type of the same name in another schema is not the one strategies.status uses.
    execute_script(
        postgres_url, "CREATE SCHEMA archive; CREATE TYPE archive.strategy_status AS ENUM ('X')"
    )
    before = snapshot(postgres_url)
    migrations.upgrade(postgres_url)
    assert status_labels(postgres_url) == [s.value for s in Status]
    migrations.downgrade(postgres_url, LEGACY_REVISION)
    assert status_labels(postgres_url) == list(OTHER_ORDER)
    assert snapshot(postgres_url) == before


def test_rows_already_active_in_a_half_migrated_original_database_come_back_active(
    postgres_url: str,
) -> None:
    """The original system's migration, failing half-way, could leave an ACTIVE label and rows."""
    build_postgres(
        postgres_url, labels=(*OTHER_ORDER, "ACTIVE"), rows=[*ROWS, ("half", "ACTIVE", True, ())]
    )
    before = snapshot(postgres_url)
    migrations.upgrade(postgres_url)
    migrations.downgrade(postgres_url, LEGACY_REVISION)
    assert status_labels(postgres_url) == [*OTHER_ORDER, "ACTIVE"]
    assert snapshot(postgres_url) == before


def strategy_states(url: str) -> dict[str, tuple[str, datetime | None]]:
    """Each strategy's status and stored ``last_backtested_at`` (None while there is no such
    column), by name."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        table = sa.Table("strategies", sa.MetaData(), autoload_with=connection)
        last = table.c.get("last_backtested_at", sa.null())
        query = sa.select(table.c.name, sa.cast(table.c.status, sa.Text), last)
        found = {name: (status, at) for name, status, at in connection.execute(query)}
    engine.dispose()
    return found


#: Where the original migration 014 can have failed: at each of its steps, or at the version
#: update after the last one (step 1 failing leaves the database untouched, tested above).
FAILING_STEPS = range(2, len(ORIGINAL_014_STEPS) + 2)


@pytest.mark.parametrize("failing_step", FAILING_STEPS)
def test_a_database_the_original_migration_left_half_way_upgrades_and_downgrades(
    postgres_url: str, failing_step: int
) -> None:
    """Wherever the original migration stopped, ours reaches head without a manual step: statuses
    as the spec says, existing ``last_backtested_at`` values kept and NULLs filled, every row
    kept; the downgrade gives back exactly the half-migrated database."""
    build_postgres(postgres_url)
    run_original_014_until(postgres_url, failing_step)
    assert migrations.current(postgres_url) == LEGACY_REVISION
    before_columns, before_schema = columns(postgres_url), schema(postgres_url)
    before, before_labels = snapshot(postgres_url), status_labels(postgres_url)
    found = strategy_states(postgres_url)
    applied = ORIGINAL_014_STEPS[: failing_step - 1]
    assert ("last_backtested_at" in before_columns["strategies"]) == any(
        "ADD COLUMN last_backtested_at" in step for step in applied
    )

    migrations.upgrade(postgres_url)
    assert migrations.current(postgres_url) == revisions()[-1]
    changed = ("status", "last_backtested_at")
    unchanged = {
        table: [c for c in names if c not in changed]
        for table, names in before_columns.items()
        if table != "alembic_version"
    }
    assert snapshot(postgres_url, unchanged) == {
        table: without(without(before[table], "status"), "last_backtested_at")
        for table in unchanged
    }
    engine = create_engine(postgres_url)
    with SqlAlchemyUnitOfWork(engine) as uow:
        for index, (name, old_status, _, _) in enumerate(ROWS):
            strategy = uow.strategies.get(strategy_id(index))
            status_found, backtested_found = found[name]
            assert strategy.status == NEW_STATUS.get(old_status, old_status), name
            events = [
                (e.from_status, e.to_status, e.reason) for e in uow.strategies.events(strategy.id)
            ]
            if status_found in NEW_STATUS:
                assert events == [(status_found, NEW_STATUS[status_found], "migration")], name
            else:
                assert events == [], name
            if old_status == "FAILED":
                assert strategy.retired_reason == "failed"
            if strategy.status in (Status.ACTIVE, Status.LIVE):
                assert strategy.last_backtested_at == (
                    backtested_found.replace(tzinfo=UTC)
                    if backtested_found is not None
                    else expected_last_backtest(index)
                ), name
        assert uow.strategies.count(Status.ACTIVE) == 5
    engine.dispose()

    migrations.downgrade(postgres_url, LEGACY_REVISION)
    assert schema(postgres_url) == before_schema
    assert snapshot(postgres_url) == before
    assert status_labels(postgres_url) == before_labels


def test_downgrade_keeps_a_re_backtest_of_a_row_whose_null_the_migration_filled(
    postgres_url: str,
) -> None:
    build_postgres(postgres_url)
    run_original_014_until(postgres_url, len(ORIGINAL_014_STEPS) + 1)
    names = {name: strategy_id(i) for i, (name, *_) in enumerate(ROWS)}
    found = strategy_states(postgres_url)
    assert found["tested_nothing"] == found["selected_nothing"] == ("ACTIVE", None)
    migrations.upgrade(postgres_url)
    at = datetime(2024, 7, 1, tzinfo=UTC)
    engine = create_engine(postgres_url)
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.strategies.get(names["tested_nothing"]).record_backtest(12.0, at=at)
        uow.commit()
    engine.dispose()

    migrations.downgrade(postgres_url, LEGACY_REVISION)
    after = strategy_states(postgres_url)
    assert after["tested_nothing"] == ("ACTIVE", at.replace(tzinfo=None))
    assert after["selected_nothing"] == ("ACTIVE", None)
    assert after["tested_backtests"] == found["tested_backtests"]


def test_a_status_in_use_that_the_plan_does_not_know_is_refused(postgres_url: str) -> None:
    rows = [*ROWS, ("pending", "PENDING", False, ())]
    build_postgres(postgres_url, labels=OTHER_ORDER, rows=rows)
    before = snapshot(postgres_url)
    with pytest.raises(MigrationRefused, match=r"strategies\.status: found PENDING \(1 rows\)"):
        migrations.upgrade(postgres_url)
    assert snapshot(postgres_url) == before
    assert migrations.current(postgres_url) == LEGACY_REVISION


POISON = {
    # PostgreSQL: a constraint trigger rejects one row's new status, after other rows changed.
    "postgresql": (
        """CREATE FUNCTION no_failed_retire() RETURNS trigger AS $$ BEGIN
             IF NEW.name = 'failed_tested' AND NEW.status::text = 'RETIRED' THEN
               RAISE EXCEPTION 'row failed_tested breaks a constraint'; END IF;
             RETURN NEW; END $$ LANGUAGE plpgsql;
           CREATE TRIGGER poison BEFORE UPDATE ON strategies FOR EACH ROW
             EXECUTE FUNCTION no_failed_retire()""",
        "DROP TRIGGER poison ON strategies; DROP FUNCTION no_failed_retire()",
    ),
    # SQLite: a view on strategies.status that the table rebuild breaks, after the new tables
    # and columns were added.
    "sqlite": (
        "CREATE VIEW tested_names AS SELECT name FROM strategies WHERE status = 'TESTED'",
        "DROP VIEW tested_names",
    ),
}


def execute_script(url: str, script: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in script.split(";") if url.startswith("sqlite") else [script]:
            connection.exec_driver_sql(statement)
    engine.dispose()


def test_a_migration_that_loses_rows_is_refused(postgres_url: str) -> None:
    build_postgres(postgres_url)
    execute_script(
        postgres_url,
        """CREATE FUNCTION lose_a_coin() RETURNS trigger AS $$ BEGIN
             DELETE FROM coins WHERE symbol = 'ETH'; RETURN NEW; END $$ LANGUAGE plpgsql;
           CREATE TRIGGER lose AFTER UPDATE ON strategies FOR EACH ROW
             EXECUTE FUNCTION lose_a_coin()""",
    )
    before = snapshot(postgres_url)
    with pytest.raises(MigrationRefused, match="coins: 2 rows before, 1 after"):
        migrations.upgrade(postgres_url)
    assert snapshot(postgres_url) == before
    assert migrations.current(postgres_url) == LEGACY_REVISION


#: The last revision fails on an index name already taken (both dialects), after the plan's
#: migration has changed every status.
LAST_REVISION_POISON = (
    "CREATE INDEX ux_strategies_code_hash ON coins (active)",
    "DROP INDEX ux_strategies_code_hash",
)


@pytest.mark.parametrize("failing", ["plan_revision", "last_revision"])
def test_a_migration_failing_half_way_changes_nothing(legacy_url: str, failing: str) -> None:
    backend = sa.make_url(legacy_url).get_backend_name()
    poison, cure = POISON[backend] if failing == "plan_revision" else LAST_REVISION_POISON
    execute_script(legacy_url, poison)
    before_schema, before = schema(legacy_url), snapshot(legacy_url)
    where = "ux_strategies_code_hash" if failing == "last_revision" else None
    with pytest.raises(sa.exc.DatabaseError, match=where):
        migrations.upgrade(legacy_url)
    assert schema(legacy_url) == before_schema
    assert snapshot(legacy_url) == before
    assert migrations.current(legacy_url) == LEGACY_REVISION
    if backend == "postgresql":
        assert status_labels(legacy_url) == list(LEGACY_LABELS)

    execute_script(legacy_url, cure)
    migrations.upgrade(legacy_url)
    assert migrations.current(legacy_url) == revisions()[-1]


def test_tables_of_the_adapters_match_the_migrated_schema(empty_url: str) -> None:
    migrations.upgrade(empty_url)
    engine = create_engine(empty_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    # The database may hold more (old columns and tables we do not map), never less or other.
    missing_or_different = [d for d in differences if not str(d[0]).startswith("remove_")]
    assert missing_or_different == []
    # Timestamps stay `timestamp without time zone` holding UTC, as in the original system.
    with_zone = [
        (table, column["name"])
        for table, column in all_columns(empty_url)
        if isinstance(column["type"], sa.DateTime) and column["type"].timezone
    ]
    assert with_zone == []
    assert any(isinstance(c["type"], sa.DateTime) for _, c in all_columns(empty_url))


def all_columns(url: str) -> list[tuple[str, dict]]:
    engine = create_engine(url)
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        found = [(t, c) for t in inspector.get_table_names() for c in inspector.get_columns(t)]
    engine.dispose()
    return found


def test_downgrade_after_the_pipeline_ran_keeps_its_decisions(legacy_url: str) -> None:
    """A migrated row the pipeline left in its migrated status gets its old status back (a
    re-backtest keeps a former SELECTED row SELECTED); a row the pipeline moved on keeps the move;
    a strategy the new pipeline made ACTIVE is what the original system called TESTED."""
    names = {name: strategy_id(i) for i, (name, *_) in enumerate(ROWS)}
    at = datetime(2024, 7, 1, tzinfo=UTC)
    migrations.upgrade(legacy_url)
    engine = create_engine(legacy_url)
    with SqlAlchemyUnitOfWork(engine) as uow:
        retested = uow.strategies.get(names["selected"])
        retested.record_backtest(44.0, at=at)
        retested.move_to(Status.ACTIVE, reason="retest: 44", at=at, service="backtester")
        uow.strategies.get(names["tested_backtests"]).retire("pool_trim: 1", at=at, service="pool")
        admitted = uow.strategies.get(names["val"])
        admitted.record_backtest(
            30.0, at=at, timeframe=Timeframe.H1, execution=ExecutionParameters(0.02, 0.04, 1.0, 24)
        )
        admitted.move_to(Status.ACTIVE, reason="admitted", at=at, service="backtester")
        uow.commit()
    engine.dispose()

    migrations.downgrade(legacy_url, LEGACY_REVISION)
    engine = sa.create_engine(legacy_url)
    with engine.connect() as connection:
        status = dict(
            connection.execute(sa.text("SELECT name, CAST(status AS TEXT) FROM strategies")).all()
        )
    engine.dispose()
    expected = {name: old for name, old, *_ in ROWS}
    expected.update(tested_backtests="RETIRED", val="TESTED")
    assert status == expected


def test_the_first_pool_maintenance_after_the_migration_trims_not_the_migration(
    legacy_url: str,
) -> None:
    names = {strategy_id(i): name for i, (name, *_) in enumerate(ROWS)}
    migrations.upgrade(legacy_url)
    engine = create_engine(legacy_url)
    rules = pool.PoolRules(max_size=2, min_score_entry=25)
    with SqlAlchemyUnitOfWork(engine) as uow:
        assert uow.strategies.count(Status.ACTIVE) == 5  # over capacity: the migration kept all
        decisions = pool.maintain(uow, rules, at=datetime(2024, 7, 1, tzinfo=UTC))
        uow.commit()
    with SqlAlchemyUnitOfWork(engine) as uow:
        active = {names[s.id] for s in uow.strategies.by_status(Status.ACTIVE)}
        retired = {names[s.id]: s.retired_reason for s in uow.strategies.by_status(Status.RETIRED)}
    engine.dispose()
    assert {names[d.strategy_id]: d.reason_code for d in decisions} == {
        "tested_backtests": "below_entry",  # score 20
        "tested_only_tested_at": "pool_trim",  # score 30
        "selected": "pool_trim",  # score 50
    }
    # The best scored member stays, and so does the one without a score (due for a re-backtest).
    assert active == {"selected_nothing", "tested_nothing"}
    assert retired["selected"].startswith("pool_trim")
