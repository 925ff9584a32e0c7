"""The command line's shared behaviour: global options anywhere, which configuration file is
read, bounded numbers."""

from __future__ import annotations

import argparse

import pytest

from sixbtc import config
from sixbtc.entrypoints.cli import global_options_first, main
from sixbtc.entrypoints.console import bounded


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status", "--config", "a.yaml"], ["--config", "a.yaml", "status"]),
        (
            ["strategy", "list", "--config=a.yaml", "-v"],
            ["--config=a.yaml", "-v", "strategy", "list"],
        ),
        (["--config", "a.yaml", "status"], ["--config", "a.yaml", "status"]),
        (["backtest", "x.py", "--", "--config"], ["backtest", "x.py", "--", "--config"]),
    ],
)
def test_global_options_are_read_wherever_they_are_written(argv, expected):
    assert global_options_first(argv) == expected


def test_the_configuration_file_is_the_one_given_else_the_environment_s_else_the_local_one(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    assert config.discover(None, environ={}) is None  # the built-in values
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("active_pool: {max_size: 7}\n")
    assert config.discover(None, environ={}) == "config/config.yaml"
    assert config.discover(None, environ={"SIXBTC_CONFIG": "other.yaml"}) == "other.yaml"
    assert config.discover("given.yaml", environ={"SIXBTC_CONFIG": "other.yaml"}) == "given.yaml"


def test_sixbtc_config_says_which_file_it_read(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SIXBTC_CONFIG", raising=False)
    assert main(["config"]) == 0
    assert capsys.readouterr().out.startswith("# configuration: no file: the built-in values\n")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("active_pool: {max_size: 7}\n")
    monkeypatch.setenv("SIXBTC_ACTIVE_POOL__MIN_SCORE_ENTRY", "20")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# configuration: read config/config.yaml\n")
    assert "# overridden by the environment: SIXBTC_ACTIVE_POOL__MIN_SCORE_ENTRY" in out
    assert "max_size: 7" in out and "min_score_entry: 20" in out


@pytest.mark.parametrize(
    ("kind", "minimum", "strict", "text", "message"),
    [
        (int, 1, False, "0", "0; expected an integer >= 1"),
        (int, 0, False, "two", "'two' is not an integer"),
        (float, 0, True, "0", "0.0; expected a number > 0"),
        (float, 0, True, "inf", "inf; expected a number > 0"),
    ],
)
def test_bounded_numbers_name_the_value_and_the_bound(kind, minimum, strict, text, message):
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        bounded(kind, minimum, strict=strict)(text)
    assert bounded(int, 1)("3") == 3
