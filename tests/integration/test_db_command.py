"""``sixbtc db``: upgrade, current and downgrade on the configured database."""

from __future__ import annotations

import pytest

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
    assert head == "e9a0b3c5d7f1" and capsys.readouterr().out.splitlines()[-1] == head
    assert main(["db", "downgrade", "a1f6f9a716cc"]) == 0
    assert migrations.current(sqlite_url) == "a1f6f9a716cc"
