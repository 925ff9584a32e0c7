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
    with SqlAlchemyUnitOfWork(create_engine(sqlite_url)) as uow:
        (stored,) = uow.strategies.by_status(Status.GENERATED)
        assert stored.code == EMA_CROSS
