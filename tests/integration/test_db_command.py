"""``sixbtc db``: upgrade, current and downgrade on the configured database."""

from __future__ import annotations

import pytest
from tests.integration.legacy_database import LEGACY_REVISION, ROWS, build_postgres

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
