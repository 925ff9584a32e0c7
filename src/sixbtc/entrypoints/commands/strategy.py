"""``sixbtc strategy add FILE``: store a hand-written strategy; the validator takes it from there."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sixbtc import config as configuration
from sixbtc.application.errors import DuplicateStrategy, InvalidStrategyCode
from sixbtc.containers import build


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "strategy",
        help="add strategies written by hand",
        description="Strategies are Python source files of one class; see docs/strategies.md.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="store a strategy file as GENERATED for the validator",
        description="Check that FILE defines one strategy class with the interface and store it "
        "as GENERATED; the validator then checks it like any generated strategy. The same code "
        "(up to blank lines and trailing spaces) is refused a second time.",
    )
    add.add_argument("file", type=Path, metavar="FILE", help="the strategy's Python source")
    add.add_argument("--name", default=None, help="name to store (default: the class name)")
    add.set_defaults(handler=_add)


def _add(args: argparse.Namespace) -> int:
    if not args.file.is_file():
        what = "is not a file" if args.file.exists() else "not found"
        print(f"sixbtc: strategy file {args.file}: {what}", file=sys.stderr)
        return 2
    try:
        code = args.file.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        print(f"sixbtc: strategy file {args.file}: not UTF-8 text ({error})", file=sys.stderr)
        return 2
    container = build(configuration.load(args.config))
    try:
        strategy = container.add_strategy()(code, name=args.name)
    except InvalidStrategyCode as refused:
        print(f"sixbtc: {args.file} refused: {refused.reason}", file=sys.stderr)
        return 1
    except DuplicateStrategy as duplicate:
        print(
            f"sixbtc: {args.file} refused: already stored ({duplicate}); a strategy's code and "
            "name must both be new (--name NAME stores it under another name)",
            file=sys.stderr,
        )
        return 1
    print(f"added {strategy.name} ({strategy.strategy_type}) as {strategy.status}: {strategy.id}")
    problem = container.code_inspector().problem(code)
    if problem:
        print(f"note: the validator will retire it: {problem}")
    return 0
