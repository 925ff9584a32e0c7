"""Databases of the original system at each of its revisions after a1f6f9a716cc: upgraded to our
head with every row of every table kept, statuses and events as the plan says, and downgraded back
to the revision they came from, compared row for row with the database before (PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from tests.integration.conftest import scratch_postgres_database
from tests.integration.legacy_database import LEGACY_REVISION, schema, snapshot, without
from tests.integration.legacy_revisions import build_at
from tests.integration.test_migrations import LAST_REVISION_POISON, NEW_STATUS, status_labels

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.adapters.sqlalchemy.migrations import MigrationRefused
from sixbtc.adapters.sqlalchemy.original_revisions import LATER_IDS, RENAMED_TABLES
from sixbtc.application.errors import SchemaError
from sixbtc.domain.strategy import Status

#: Columns the upgrade may change: the status, and what it fills.
CHANGED = ("status", "last_backtested_at", "retired_reason")


@pytest.fixture(scope="module")
def module_database() -> Iterator[str]:
    with scratch_postgres_database() as url:
        yield url


@pytest.fixture
def original_url(module_database: str) -> str:
    """The module's database, emptied: one database for every test (faster than one each)."""
    engine = sa.create_engine(module_database, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    engine.dispose()
    return module_database


def run(url: str, script: str) -> None:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(script)
    engine.dispose()


def table_counts(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        counts = migrations.row_counts(connection)
    engine.dispose()
    return counts


def strategies_found(url: str) -> dict[str, dict]:
    """Each strategy by name: status, retired_reason (None without the column) and the
    last_backtested_at the plan's rule gives a row without one (latest backtest, else
    tested_at, else created_at) or the one it has."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        table = sa.Table("strategies", sa.MetaData(), autoload_with=connection)
        latest = sa.text(
            "(SELECT max(created_at) FROM backtest_results b WHERE b.strategy_id = strategies.id)"
        )
        rows = connection.execute(
            sa.select(
                table.c.id,
                table.c.name,
                sa.cast(table.c.status, sa.Text).label("status"),
                table.c.get("retired_reason", sa.null()).label("reason"),
                sa.func.coalesce(
                    table.c.get("last_backtested_at", sa.null()),
                    sa.literal_column(latest.text),
                    table.c.tested_at,
                    table.c.created_at,
                ).label("backtested"),
            )
        )
        found = {row.name: row._asdict() for row in rows}
    engine.dispose()
    return found


@pytest.mark.parametrize("revision", LATER_IDS)
def test_a_database_at_a_later_original_revision_upgrades_and_downgrades_row_for_row(
    original_url: str, revision: str
) -> None:
    url = original_url
    build_at(url, revision)
    assert migrations.current(url) == revision
    before_schema, before, labels = schema(url), snapshot(url), status_labels(url)
    counts, found = table_counts(url), strategies_found(url)
    assert "ACTIVE" in labels and any(s["status"] == "ACTIVE" for s in found.values())

    migrations.upgrade(url)
    assert migrations.current(url) == migrations.head()
    after_counts = table_counts(url)
    assert {RENAMED_TABLES.get(t, t): n for t, n in counts.items()}.items() <= after_counts.items()
    unchanged = {
        RENAMED_TABLES.get(table, table): sorted(set(dict(rows[0]) if rows else ()) - set(CHANGED))
        for table, rows in before.items()
        if table != "alembic_version" and rows
    }
    expected = {RENAMED_TABLES.get(t, t): rows for t, rows in before.items()}
    for column in CHANGED:
        expected = {t: without(rows, column) for t, rows in expected.items()}
    assert snapshot(url, unchanged) == {t: expected[t] for t in unchanged}

    engine = create_engine(url)
    with SqlAlchemyUnitOfWork(engine) as uow:
        for name, row in found.items():
            old = row["status"]
            strategy = uow.strategies.get(row["id"])
            assert strategy.status == NEW_STATUS.get(old, old), name
            events = [
                (e.from_status, e.to_status, e.reason) for e in uow.strategies.events(row["id"])
            ]
            assert events == ([(old, NEW_STATUS[old], "migration")] if old in NEW_STATUS else [])
            if old == "FAILED":
                assert strategy.retired_reason == (row["reason"] or "failed"), name
            elif old == "RETIRED":
                assert (strategy.retired_reason or None) == row["reason"], name
            if strategy.status in (Status.ACTIVE, Status.LIVE):
                assert strategy.last_backtested_at == row["backtested"].replace(tzinfo=UTC)
        assert uow.strategies.count(Status.ACTIVE) == sum(
            NEW_STATUS.get(r["status"], r["status"]) == "ACTIVE" for r in found.values()
        )
    engine.dispose()

    migrations.downgrade(url, revision)
    assert migrations.current(url) == revision
    assert schema(url) == before_schema
    assert snapshot(url) == before
    assert status_labels(url) == labels


def test_every_later_revision_is_carried_with_the_tables_it_made(original_url: str) -> None:
    """The head revision's database holds what every later revision added or changed."""
    build_at(original_url, LATER_IDS[-1])
    counts = table_counts(original_url)
    for table in ("strategy_events", "used_indicator_combinations", "credentials"):
        assert counts[table] > 0, table
    assert "validation_caches" not in counts
    found = strategies_found(original_url)
    assert "PGnStrat_TRD_a1" in found and "PGnStrat_VOL_b2" in found  # 6d97260858eb's rewrite
    migrations.upgrade(original_url)
    after = table_counts(original_url)
    assert after["legacy_strategy_events"] == counts["strategy_events"]
    assert after["strategy_events"] == sum(r["status"] in NEW_STATUS for r in found.values())


def test_an_unknown_revision_is_refused_naming_it(original_url: str) -> None:
    build_at(original_url, LEGACY_REVISION)
    run(original_url, "UPDATE alembic_version SET version_num = 'ffff0000aaaa'")
    before = snapshot(original_url)
    with pytest.raises(SchemaError, match=r"'ffff0000aaaa'.*014_rename_tested_to_active to 019"):
        migrations.upgrade(original_url)
    assert snapshot(original_url) == before


def test_an_earlier_original_revision_is_refused_with_what_to_do(original_url: str) -> None:
    build_at(original_url, LEGACY_REVISION)
    run(original_url, "UPDATE alembic_version SET version_num = '013_add_weighted_metrics'")
    before = snapshot(original_url)
    with pytest.raises(MigrationRefused, match="013_add_weighted_metrics, older than a1f6f9a716cc"):
        migrations.upgrade(original_url)
    assert snapshot(original_url) == before


def test_a_database_whose_tables_contradict_its_revision_is_refused(original_url: str) -> None:
    build_at(original_url, "0e81376af4a2")
    run(original_url, "UPDATE alembic_version SET version_num = '775182bcf916'")
    before_schema, before = schema(original_url), snapshot(original_url)
    with pytest.raises(
        MigrationRefused, match=r"revision 775182bcf916 but has strategies\.retired"
    ):
        migrations.upgrade(original_url)
    assert schema(original_url) == before_schema and snapshot(original_url) == before


def test_an_unknown_status_at_a_later_revision_is_refused_naming_the_revision(
    original_url: str,
) -> None:
    build_at(original_url, "019_drop_validation_cache")
    run(original_url, "ALTER TYPE strategy_status ADD VALUE 'PENDING'")
    run(
        original_url,
        "INSERT INTO strategies (id, name, strategy_type, timeframe, status, code, created_at) "
        "VALUES (gen_random_uuid(), 'pending', 'MOM', '1h', 'PENDING', 'x', now())",
    )
    before_schema, before = schema(original_url), snapshot(original_url)
    with pytest.raises(
        MigrationRefused,
        match=r"original system's revision 019_drop_validation_cache: strategies\.status: "
        r"found PENDING \(1 rows\)",
    ):
        migrations.upgrade(original_url)
    assert schema(original_url) == before_schema and snapshot(original_url) == before
    assert migrations.current(original_url) == "019_drop_validation_cache"


def test_a_later_database_whose_upgrade_fails_half_way_is_left_as_it_was(
    original_url: str,
) -> None:
    build_at(original_url, "019_drop_validation_cache")
    poison, cure = LAST_REVISION_POISON
    run(original_url, poison)
    before_schema, before = schema(original_url), snapshot(original_url)
    with pytest.raises(sa.exc.DatabaseError, match="ux_strategies_code_hash"):
        migrations.upgrade(original_url)
    assert schema(original_url) == before_schema and snapshot(original_url) == before
    assert migrations.current(original_url) == "019_drop_validation_cache"
    run(original_url, cure)
    migrations.upgrade(original_url)
    assert migrations.current(original_url) == migrations.head()


def test_a_carried_database_goes_back_only_to_where_it_came_from(original_url: str) -> None:
    """Down to the revision it came from (through our plan revision on the way), never to
    a1f6f9a716cc or another revision of the original; reasons written since are cut to the
    original's 50 characters."""
    build_at(original_url, "775182bcf916")
    before = snapshot(original_url)
    migrations.upgrade(original_url, "c4d2e8b91f07")
    migrations.upgrade(original_url)
    for target in (LEGACY_REVISION, "base", "014_rename_tested_to_active"):
        with pytest.raises(MigrationRefused, match="came from"):
            migrations.downgrade(original_url, target)
        assert migrations.current(original_url) == migrations.head()
    with pytest.raises(MigrationRefused, match="only move to a revision after a1f6f9a716cc"):
        migrations.upgrade(build_fresh(original_url, "5f728cbb7dcf"), LEGACY_REVISION)
    assert migrations.current(original_url) == "5f728cbb7dcf"

    build_at(reset(original_url), "775182bcf916")
    found = strategies_found(original_url)
    migrations.upgrade(original_url)
    engine = create_engine(original_url)
    at = datetime(2024, 7, 1, tzinfo=UTC)
    with SqlAlchemyUnitOfWork(engine) as uow:
        uow.strategies.get(found["active_rebacktested"]["id"]).retire(
            "pool_trim: " + "9" * 80, at=at, service="pool"
        )
        uow.commit()
    engine.dispose()
    migrations.downgrade(original_url, "c4d2e8b91f07")
    migrations.downgrade(original_url, "775182bcf916")
    after = strategies_found(original_url)
    assert after["active_rebacktested"]["status"] == "RETIRED"
    assert after["active_rebacktested"]["reason"] == ("pool_trim: " + "9" * 80)[:50]
    del after["active_rebacktested"], found["active_rebacktested"]
    assert after == found
    assert migrations.current(original_url) == "775182bcf916"
    assert set(snapshot(original_url)) == set(before)


def reset(url: str) -> str:
    run(url, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    return url


def build_fresh(url: str, revision: str) -> str:
    build_at(reset(url), revision)
    return url
