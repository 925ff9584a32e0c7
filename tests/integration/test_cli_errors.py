"""What users get wrong is said in one line with an exit code, never a traceback: database URLs,
unknown revisions, a migration that cannot get its lock, no market data, oversized strategy files,
and Ctrl-C during a pass."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.integration.conftest import postgres_server_url
from tests.integration.sandbox.processes import as_from_a_terminal

from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.entrypoints import services
from sixbtc.entrypoints.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, monkeypatch, url: str, *argv: str) -> tuple[int, str]:
    monkeypatch.setenv("SIXBTC_DATABASE__URL", url)
    code = main(list(argv))
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


@pytest.mark.parametrize(
    "url, says",
    [
        ("postgres://u@localhost/db", "write postgresql+psycopg://u@localhost/db"),
        ("mysql://u@localhost/db", "the database 'mysql' is not supported"),
        ("sqlite:////no/such/folder/x.db", "the folder /no/such/folder of the SQLite file"),
        ("postgresql+psycopg://u:secret@localhost", "no database name"),
        ("postgres://u:secret@localhost/db", "write postgresql+psycopg://u:***@localhost/db"),
        ("postgresql+asyncpg://u:secret@h/db", "the PostgreSQL driver 'asyncpg' is not"),
        ("postgresql+psycopg://u:secret@h:99999/db", "cannot be parsed (Port out of range"),
        ("sqlite:////tmp", "/tmp is a folder; expected the path of a SQLite file"),
        ("sqlite:///~/no-such-folder-x/x.db", "(~ is not expanded; write the full path)"),
        ("sixbtc.db", "expected sqlite:///FILE"),
    ],
)
def test_a_bad_database_url_is_a_configuration_error(capsys, monkeypatch, url, says):
    for command in (["config"], ["db", "current"], ["pipeline"]):
        code, err = run(capsys, monkeypatch, url, *command)
        assert code == 2 and "configuration error: database.url: " in err and says in err
        assert "secret" not in err


def test_an_unreachable_server_is_said_plainly(capsys, monkeypatch):
    url = "postgresql+psycopg://postgres@127.0.0.1:1/db?connect_timeout=3"
    for command in (["db", "current"], ["db", "upgrade"], ["pipeline", "--strategies", "1"]):
        code, err = run(capsys, monkeypatch, url, *command)
        assert code == 1 and "cannot reach the database" in err and "Connection refused" in err
    monkeypatch.setenv("SIXBTC_DATABASE__URL", url)
    assert services.backtester(["--once"]) == 1
    assert "cannot reach the database" in capsys.readouterr().err


def test_a_missing_postgresql_database_is_said_plainly(capsys, monkeypatch):
    url = sa.make_url(postgres_server_url()).set(database="sixbtc_does_not_exist")
    code, err = run(capsys, monkeypatch, url.render_as_string(False), "db", "upgrade")
    assert code == 1 and 'database "sixbtc_does_not_exist" does not exist' in err


def unknown_revision_database(path: Path, revision: str) -> str:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES (?)", (revision,))
    return f"sqlite:///{path}"


def test_an_original_revision_without_its_tables_is_refused_and_left_alone(
    tmp_path, capsys, monkeypatch
):
    url = unknown_revision_database(tmp_path / "later.db", "4888110cfe92")
    code, err = run(capsys, monkeypatch, url, "db", "upgrade")
    assert code == 1 and "the database names the original system's revision 4888110cfe92" in err
    assert migrations.current(url) == "4888110cfe92"


@pytest.mark.parametrize("revision", ["9f8e7d6c5b4a", "099_someone_elses_revision"])
def test_a_database_at_an_unknown_revision_is_refused_and_left_alone(
    tmp_path, capsys, monkeypatch, revision
):
    url = unknown_revision_database(tmp_path / "later.db", revision)
    assert run(capsys, monkeypatch, url, "db", "current") == (0, "")
    code, err = run(capsys, monkeypatch, url, "db", "upgrade")
    assert code == 1 and f"Can't locate revision identified by '{revision}'" in err
    assert "Nothing was changed" in err and migrations.head() in err
    assert services.generator(["--once"]) == 1
    assert "not a revision this version of sixbtc knows" in capsys.readouterr().err
    assert migrations.current(url) == revision


def test_db_current_names_an_unknown_revision(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIXBTC_DATABASE__URL", unknown_revision_database(tmp_path / "x.db", "abc"))
    assert main(["db", "current"]) == 0
    assert "abc (not a revision this version of sixbtc knows" in capsys.readouterr().out


def test_a_downgrade_to_an_unknown_revision_changes_nothing(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'db.db'}"
    migrations.upgrade(url)
    code, err = run(capsys, monkeypatch, url, "db", "downgrade", "no_such_revision")
    assert code == 1 and "Can't locate revision identified by 'no_such_revision'" in err
    assert migrations.current(url) == migrations.head()


def test_db_current_creates_no_database_file(tmp_path, capsys, monkeypatch):
    path = tmp_path / "new.db"
    monkeypatch.setenv("SIXBTC_DATABASE__URL", f"sqlite:///{path}")
    assert main(["db", "current"]) == 0
    assert f"no database at {path} yet" in capsys.readouterr().out
    assert not path.exists()


def test_a_migration_that_cannot_get_its_lock_is_cancelled_and_changes_nothing(
    postgres_url, capsys, monkeypatch
):
    migrations.upgrade(postgres_url, "f3b7d1a9c2e4")
    monkeypatch.setattr(migrations, "LOCK_TIMEOUT_SECONDS", 1)
    holder = sa.create_engine(postgres_url)
    with holder.connect() as connection:
        connection.exec_driver_sql("LOCK TABLE strategies IN ACCESS EXCLUSIVE MODE")
        code, err = run(capsys, monkeypatch, postgres_url, "db", "upgrade")
        connection.rollback()
    holder.dispose()
    assert code == 1 and "cancelled after waiting 1 s for a lock" in err
    assert "Nothing was changed" in err
    assert migrations.current(postgres_url) == "f3b7d1a9c2e4"


def test_a_pass_on_an_empty_cache_says_where_to_get_candles(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIXBTC_MARKET_DATA__SOURCE", "cache")
    monkeypatch.setenv("SIXBTC_MARKET_DATA__CACHE_DIR", str(tmp_path / "cache"))
    url = f"sqlite:///{tmp_path / 'db.db'}"
    code, err = run(capsys, monkeypatch, url, "pipeline", "--strategies", "1")
    assert code == 1 and "no coin to backtest" in err and "sixbtc data import" in err


def test_an_oversized_strategy_file_is_refused_before_anything_heavy_loads(tmp_path):
    big = tmp_path / "big.py"
    big.write_text("x = 1\n" * 60_000)  # 360 KB
    probe = (
        "import sys\nfrom sixbtc.entrypoints.cli import main\n"
        f"code = main(['strategy', 'add', {str(big)!r}])\n"
        "print(code, 'sixbtc.containers' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "SIXBTC_DATABASE__URL": f"sqlite:///{tmp_path / 'db.db'}"},
    )  # fmt: skip
    assert done.stdout.split() == ["2", "False"]
    assert "360,000 bytes; expected at most 262,144 (256 KB)" in done.stderr


def test_ctrl_c_during_a_pass_stops_cleanly_with_130(tmp_path):
    env = {**os.environ, "SIXBTC_DATABASE__URL": f"sqlite:///{tmp_path / 'db.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sixbtc.entrypoints.cli", "pipeline", "--strategies", "30"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env,
        preexec_fn=as_from_a_terminal,
    )  # fmt: skip
    for line in process.stdout:  # interrupt once the backtests have started
        if line.startswith("validator:"):
            break
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    with sqlite3.connect(tmp_path / "db.db") as connection:
        held = connection.execute("SELECT count(*) FROM strategies WHERE claimed_by IS NOT NULL")
        assert held.fetchone() == (0,)
