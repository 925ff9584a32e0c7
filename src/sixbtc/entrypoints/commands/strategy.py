"""``sixbtc strategy add|list|show``: store a hand-written strategy (the validator takes it from
there), list strategies, show one strategy's whole record."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sixbtc.application.errors import DuplicateStrategy, InvalidStrategyCode
from sixbtc.application.strategy_file import MAX_BYTES, StrategyFileError, read_source
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.commands import strategy_views


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "strategy",
        help="add strategies written by hand, list them, show one",
        description="Strategies are Python source files of one class; see docs/strategies.md.",
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="store a strategy file as GENERATED for the validator",
        description="Check that FILE defines one strategy class with the interface and store it "
        "as GENERATED; the validator then checks it like any generated strategy. The same code "
        "(up to blank lines and trailing spaces) is refused a second time. A file larger than "
        f"{MAX_BYTES // 1024} KB, not UTF-8 text or not valid Python is refused at once.",
    )
    add.add_argument("file", type=Path, metavar="FILE", help="the strategy's Python source")
    add.add_argument("--name", default=None, help="name to store (default: the class name)")
    add.set_defaults(handler=_add)
    strategy_views.register(actions)


def _add(args: argparse.Namespace) -> int:
    try:
        code = read_source(args.file)  # cheap checks first: a refusal answers at once
    except StrategyFileError as error:  # the file itself: a usage error, as argparse's
        print(f"sixbtc: {error}", file=sys.stderr)
        return 2
    except InvalidStrategyCode as refused:
        print(f"sixbtc: {args.file} refused: {refused.reason}", file=sys.stderr)
        return 1
    container = wiring.container(args.config)  # loads every adapter: only once the file is sane
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
    finally:
        container.shutdown_resources()
    print(f"added {strategy.name} ({strategy.strategy_type}) as {strategy.status}: {strategy.id}")
    problem = container.code_inspector().problem(code)
    if problem:
        print(f"note: the validator will retire it: {problem}")
    return 0
