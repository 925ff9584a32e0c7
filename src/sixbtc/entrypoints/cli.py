"""The ``sixbtc`` command: ``sixbtc --help`` lists the sub-commands."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from sixbtc import __version__
from sixbtc import config as configuration
from sixbtc.entrypoints.commands import backtest as backtest_command
from sixbtc.entrypoints.commands import config as config_command
from sixbtc.entrypoints.commands import data as data_command
from sixbtc.entrypoints.commands import db as db_command
from sixbtc.entrypoints.commands import kill_switch as kill_switch_command
from sixbtc.entrypoints.commands import pipeline as pipeline_command
from sixbtc.entrypoints.commands import report as report_command
from sixbtc.entrypoints.commands import research as research_command
from sixbtc.entrypoints.commands import run as run_command
from sixbtc.entrypoints.commands import service as service_command
from sixbtc.entrypoints.commands import status as status_command
from sixbtc.entrypoints.commands import strategy as strategy_command
from sixbtc.entrypoints.commands import web as web_command
from sixbtc.entrypoints.console import configure_logging, guarded

COMMANDS = (
    run_command,
    status_command,
    kill_switch_command,
    pipeline_command,
    service_command,
    config_command,
    db_command,
    data_command,
    strategy_command,
    backtest_command,
    report_command,
    research_command,
    web_command,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sixbtc",
        description="SixBTC: generate, validate, backtest, rank, trade and retire crypto "
        "trading strategies.",
    )
    parser.add_argument("--version", action="version", version=f"sixbtc {__version__}")
    parser.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="configuration file (YAML), before or after the command; default: $SIXBTC_CONFIG, "
        "else ./config/config.yaml when present, else the built-in values. "
        "SIXBTC_<SECTION>__<KEY> environment variables override it.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(global_options_first(sys.argv[1:] if argv is None else argv))
    args.config = configuration.discover(args.config)
    configure_logging(args.verbose, getattr(args, "log_level", logging.WARNING))
    return guarded(args.handler, args, "sixbtc")


#: Options of ``sixbtc`` itself that may also be written after the command.
GLOBAL_OPTIONS = {"--config": 1, "-v": 0, "--verbose": 0}


def global_options_first(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--config FILE`` (or ``--config=FILE``), ``-v`` and ``--verbose`` moved
    before the command, wherever they were written (argparse reads them only there)."""
    front: list[str] = []
    rest: list[str] = []
    words = list(argv)
    while words:
        word = words.pop(0)
        name = word.split("=", 1)[0]
        if word == "--":
            rest += [word, *words]
            break
        if name in GLOBAL_OPTIONS:
            front.append(word)
            if "=" not in word and GLOBAL_OPTIONS[name] and words:
                front.append(words.pop(0))
        else:
            rest.append(word)
    return front + rest


if __name__ == "__main__":
    sys.exit(main())
