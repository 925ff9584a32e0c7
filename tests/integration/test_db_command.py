"""``sixbtc db``: upgrade, current and downgrade on the configured database."""

from __future__ import annotations

import json

import pytest
from tests.integration.legacy_database import LEGACY_REVISION, ROWS, build_postgres, snapshot
from tests.integration.legacy_revisions import build_at

from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.entrypoints.cli import main


def test_db_command_upgrades_reports_and_downgrades(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIXBTC_DATABASE__URL", sqlite_url)
    assert main(["db", "upgrade", "--revision", "c4d2e8b91f07"]) == 0
    assert migrations.current(sqlite_url) == "c4d2e8b91f07"
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    head = migrations.current(sqlite_url)
    assert head == migrations.head() and capsys.readouterr().out.splitlines()[-1] == head
    assert main(["db", "downgrade", "a1f6f9a716cc"]) == 0
    assert migrations.current(sqlite_url) == "a1f6f9a716cc"


def test_db_upgrade_carries_an_original_system_database_without_a_manual_step(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_postgres(postgres_url)
    monkeypatch.setenv("SIXBTC_DATABASE__URL", postgres_url)
    assert main(["db", "current"]) == 0
    assert capsys.readouterr().out.strip() == LEGACY_REVISION
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.strip() == f"database at {migrations.head()}"


def test_db_upgrade_refusing_a_status_says_why_and_fails(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    labels = (
        "GENERATED",
        "VALIDATED",
        "TESTED",
        "SELECTED",
        "LIVE",
        "RETIRED",
        "FAILED",
        "PENDING",
    )
    build_postgres(postgres_url, labels=labels, rows=[*ROWS, ("odd", "PENDING", False, ())])
    monkeypatch.setenv("SIXBTC_DATABASE__URL", postgres_url)
    assert main(["db", "upgrade"]) == 1
    error = capsys.readouterr().err
    assert "migration refused: strategies.status: found PENDING (1 rows)" in error
    assert migrations.current(postgres_url) == LEGACY_REVISION


def test_the_inspection_commands_read_an_upgraded_original_system_database(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    build_postgres(postgres_url)
    monkeypatch.setenv("SIXBTC_DATABASE__URL", postgres_url)
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["status", "--json"]) == 0
    assert sum(json.loads(capsys.readouterr().out)["statuses"].values()) == len(ROWS)
    assert main(["strategy", "list", "--limit", "0", "--json"]) == 0
    names = [row["name"] for row in json.loads(capsys.readouterr().out)]
    assert len(names) == len(ROWS)
    for name in names:  # retired ones without a retirement time, no backtest of ours, no trade
        assert main(["strategy", "show", name]) == 0
        shown = capsys.readouterr().out
        assert name in shown
        if name == "retired":  # retired by the original system, which recorded no reason
            assert "(no reason recorded)" in shown
    monkeypatch.setenv("COLUMNS", "200")  # one line a row
    assert main(["strategy", "list", "--status", "RETIRED", "--limit", "0"]) == 0
    assert "(no reason recorded)" in capsys.readouterr().out
    assert main(["report", "--out", str(tmp_path)]) == 0
    with pytest.raises(SystemExit) as refused:  # by argparse, before PostgreSQL sees LIMIT -1
        main(["strategy", "list", "--limit", "-1"])
    assert refused.value.code == 2
    assert "-1; expected an integer >= 0" in capsys.readouterr().err


def test_db_upgrade_of_a_later_original_revision_says_first_what_a_downgrade_cannot_restore(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    build_at(postgres_url, "019_drop_validation_cache")
    before = snapshot(postgres_url)
    monkeypatch.setenv("SIXBTC_DATABASE__URL", postgres_url)
    assert main(["db", "upgrade", "--dry-run"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("note: the database is at the original system's revision 019_drop")
    assert "`sixbtc db downgrade 019_drop_validation_cache` returns it there" in out[0]
    assert out[1].startswith("note: a downgrade back to 019_drop_validation_cache cannot restore")
    assert "cut to the column's 50 characters" in out[1]
    assert out[2].startswith("dry run, nothing changed")
    assert snapshot(postgres_url) == before
    assert main(["db", "upgrade"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("note: ") and out[-1] == f"database at {migrations.head()}"
    assert main(["db", "downgrade", LEGACY_REVISION]) == 1
    assert (
        "`sixbtc db downgrade 019_drop_validation_cache` returns it there"
        in capsys.readouterr().err
    )
    assert main(["db", "downgrade", "019_drop_validation_cache"]) == 0
    assert capsys.readouterr().out.strip() == (
        "database at 019_drop_validation_cache (a later revision of the original system; "
        "`sixbtc db upgrade` carries it)"
    )
    assert snapshot(postgres_url) == before
