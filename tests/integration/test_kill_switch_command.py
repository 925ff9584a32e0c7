"""``sixbtc halt``, ``flatten`` and ``resume`` on the configured database, and the halts and
blocked subaccounts in ``sixbtc status``."""

from __future__ import annotations

import io

import pytest

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.domain.halt import HaltCause, HaltKind
from sixbtc.entrypoints.cli import main


def test_halt_flatten_and_resume_are_recorded_with_who_and_why(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIXBTC_DATABASE__URL", sqlite_url)
    migrations.upgrade(sqlite_url, "head")
    assert main(["resume"]) == 0
    assert "trading was not halted; nothing to lift" in capsys.readouterr().out
    assert main(["halt", "--reason", "exchange maintenance"]) == 0
    out = capsys.readouterr().out
    assert "halt 1: halt (operator: exchange maintenance) set by operator:" in out
    assert "lifted by `sixbtc resume`" in out
    assert main(["halt"]) == 0  # already halted: the same halt
    assert capsys.readouterr().out.startswith("halt 1:")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["flatten"]) == 1
    assert "confirm with --yes" in capsys.readouterr().err
    assert main(["flatten", "--yes", "--reason", "leaving"]) == 0
    assert "halt 2: flatten (operator: leaving)" in capsys.readouterr().out
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "trading: HALTED, halt 1: halt (operator: exchange maintenance)" in status
    assert "halt 2: flatten (operator: leaving)" in status
    assert main(["resume"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "lifted halt 1: halt (operator: exchange maintenance)",
        "lifted halt 2: flatten (operator: leaving)",
    ]
    assert main(["status"]) == 0
    assert "trading: running (no halt)" in capsys.readouterr().out
    with SqlAlchemyUnitOfWork(create_engine(sqlite_url)) as uow:
        halts = uow.halts.latest(5)
    assert [(h.kind, h.cause) for h in halts] == [
        (HaltKind.FLATTEN, HaltCause.OPERATOR),
        (HaltKind.HALT, HaltCause.OPERATOR),
    ]
    assert all(h.lifted_by.startswith("operator:") and h.lifted_at for h in halts)


def test_halt_on_a_database_without_the_schema_says_what_to_do(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIXBTC_DATABASE__URL", sqlite_url)
    assert main(["halt"]) == 1
    assert "sixbtc db upgrade" in capsys.readouterr().err
