"""The command line starts fast because it imports slow libraries only for the commands that use
them: building the parser (``sixbtc --help``, usage errors) loads none, and ``sixbtc strategy add``
loads the database but not the engine, the market data or the sandbox. Each check runs in a fresh
interpreter and reads ``sys.modules``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.strategy_samples import EMA_CROSS

from sixbtc.adapters.sqlalchemy import migrations


def loaded_modules(tmp_path: Path, code: str, names: list[str], env: dict[str, str]) -> list[str]:
    """Which of ``names`` are in ``sys.modules`` after ``code`` ran in a fresh interpreter (in
    ``tmp_path``: no configuration file is found, no database lands in the repository)."""
    listed = f"[name for name in {names!r} if name in sys.modules]"
    probe = f"{code}\nimport json, sys\nprint(json.dumps({listed}))"
    environment = {k: v for k, v in os.environ.items() if k != "SIXBTC_CONFIG"} | env
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_building_the_parser_imports_no_slow_library(tmp_path):
    code = "from sixbtc.entrypoints.cli import build_parser\nbuild_parser()"
    slow = ["numba", "pandas", "pyarrow", "ccxt", "matplotlib", "sqlalchemy", "alembic"]
    assert loaded_modules(tmp_path, code, [*slow, "sixbtc.containers"], {}) == []


def test_strategy_add_imports_the_database_but_not_the_engine_the_market_or_the_sandbox(tmp_path):
    url = f"sqlite:///{tmp_path / 'sixbtc.db'}"
    migrations.upgrade(url, "head")
    (tmp_path / "ema_cross.py").write_text(EMA_CROSS)
    code = (
        "from sixbtc.entrypoints.cli import main\n"
        "assert main(['strategy', 'add', 'ema_cross.py']) == 0"
    )
    names = [
        "numba",
        "pandas",
        "ccxt",
        "matplotlib",
        "alembic",
        "sixbtc.adapters.engine",
        "sixbtc.adapters.market",
        "sixbtc.adapters.ccxt",
        "sixbtc.adapters.sandbox",
        "sixbtc.adapters.generator",
        "sqlalchemy",
    ]
    env = {"SIXBTC_DATABASE__URL": url}
    assert loaded_modules(tmp_path, code, names, env) == ["sqlalchemy"]
