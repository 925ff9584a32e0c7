"""``sixbtc strategy new|add|export`` on the configured database."""

from __future__ import annotations

import json

import pytest
from tests.strategy_samples import EMA_CROSS

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.domain.strategy import Status
from sixbtc.entrypoints.cli import main


def test_strategy_add_stores_a_file_once_and_refuses_bad_code(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("SIXBTC_DATABASE__URL", sqlite_url)
    migrations.upgrade(sqlite_url, "head")
    path = tmp_path / "ema_cross.py"
    path.write_text(EMA_CROSS)
    assert main(["strategy", "add", str(path)]) == 0
    assert "added Sample (MOM) as GENERATED" in capsys.readouterr().out
    assert main(["strategy", "add", str(path)]) == 1
    assert "already stored" in capsys.readouterr().err
    path.write_text("import os\n")
    assert main(["strategy", "add", str(path)]) == 1
    assert "refused: syntax_error: found 0 classes" in capsys.readouterr().err
    path.write_text(EMA_CROSS.replace("class Sample", "class Other") + "\n# changed\n")
    assert main(["strategy", "add", str(path), "--name", "Sample"]) == 1
    assert "--name NAME stores it under another name" in capsys.readouterr().err
    path.write_text(
        EMA_CROSS.replace("class Sample", "class Peeks").replace(
            "(bars.close, 12)", "(bars.close.shift(-1), 12)"
        )
    )
    assert main(["strategy", "add", str(path)]) == 0
    assert (
        "the validator will retire it: lookahead: shift(-1) at line 11" in capsys.readouterr().out
    )
    path.write_bytes(b"\xff\xfe")
    assert main(["strategy", "add", str(path)]) == 2
    assert "not UTF-8 text" in capsys.readouterr().err
    assert main(["strategy", "add", str(tmp_path)]) == 2
    assert "is not a file" in capsys.readouterr().err
    with SqlAlchemyUnitOfWork(create_engine(sqlite_url)) as uow:
        stored = {s.name: s.code for s in uow.strategies.by_status(Status.GENERATED)}
        assert stored["Sample"] == EMA_CROSS and set(stored) == {"Sample", "Peeks"}


def test_strategy_new_writes_a_template_the_validator_accepts(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("SIXBTC_DATABASE__URL", sqlite_url)
    migrations.upgrade(sqlite_url, "head")
    assert main(["strategy", "new", "SmaCross", "--type", "MOM", "--dir", str(tmp_path)]) == 0
    path = tmp_path / "SmaCross.py"
    assert f"wrote {path}" in capsys.readouterr().out
    assert main(["strategy", "new", "SmaCross", "--dir", str(tmp_path)]) == 1
    assert "exists; nothing written" in capsys.readouterr().err
    assert main(["strategy", "add", str(path)]) == 0
    assert main(["service", "validator", "--once"]) == 0
    with SqlAlchemyUnitOfWork(create_engine(sqlite_url)) as uow:
        (validated,) = uow.strategies.by_status(Status.VALIDATED)
    assert validated.name == "SmaCross" and validated.strategy_type == "MOM"


def test_strategy_export_writes_code_record_and_trades_and_never_overwrites(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("SIXBTC_DATABASE__URL", sqlite_url)
    migrations.upgrade(sqlite_url, "head")
    source = tmp_path / "ema_cross.py"
    source.write_text(EMA_CROSS)
    assert main(["strategy", "add", str(source)]) == 0
    out = tmp_path / "out"
    out.mkdir()
    capsys.readouterr()
    assert main(["strategy", "export", "Sample", "--dir", str(out)]) == 0
    written = capsys.readouterr().out.split()
    assert written == [str(out / n) for n in ("Sample.py", "Sample.json", "Sample-trades.csv")]
    assert (out / "Sample.py").read_text() == EMA_CROSS
    assert json.loads((out / "Sample.json").read_text())["strategy"]["status"] == "GENERATED"
    assert (out / "Sample-trades.csv").read_text().startswith("symbol,direction,entry_time")
    assert main(["strategy", "export", "Sample", "--dir", str(out)]) == 1
    assert "exists; nothing written" in capsys.readouterr().err
