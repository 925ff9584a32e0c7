"""``sixbtc strategy add FILE`` on the configured database."""

from __future__ import annotations

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
