"""``sixbtc strategy new|add|list|show|export``: write a strategy from a template, store a
hand-written one (the validator takes it from there), list strategies, show or export one."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sixbtc.application.errors import DuplicateStrategy, InvalidStrategyCode
from sixbtc.application.strategy_file import MAX_BYTES, StrategyFileError, read_source
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.commands import strategy_views
from sixbtc.entrypoints.output import write_files


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "strategy",
        help="write, add, list, show and export strategies",
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
    new = actions.add_parser(
        "new",
        help="write a strategy file from a template that passes validation",
        description="Write NAME.py (in --dir): a strategy class NAME of --type, a moving-average "
        "crossover to edit, that the validator accepts as it is. Then `sixbtc backtest NAME.py` "
        "tries it and `sixbtc strategy add NAME.py` hands it to the factory. An existing file is "
        "never overwritten.",
    )
    new.add_argument("name", type=_class_name, help="the class name, e.g. SmaCross")
    new.add_argument(
        "--type", default="TRN", type=_type_code, help="upper-case type code (default: TRN)"
    )
    new.add_argument("--dir", type=Path, default=Path("."), help="folder (default: here)")
    new.set_defaults(handler=_new)
    strategy_views.register(actions)


TEMPLATE = '''import numpy as np

from sixbtc import indicators as ta


class {name}:
    """Long when the fast moving average crosses above the slow one, short when it crosses
    below. Edit the parameters and signals(); see docs/strategies.md for the rules."""

    strategy_type = "{type}"
    parameters = {{"fast": 20, "slow": 80}}
    warmup = 160  # bars the slowest window needs, with room

    def signals(self, bars):
        p = self.parameters
        fast, slow = ta.sma(bars.close, p["fast"]), ta.sma(bars.close, p["slow"])
        long = (fast > slow) & (fast.shift(1) <= slow.shift(1))
        short = (fast < slow) & (fast.shift(1) >= slow.shift(1))
        return np.where(long, 1, np.where(short, -1, 0))
'''


def _class_name(text: str) -> str:
    if not (text.isidentifier() and text[0].isupper() and text.isascii()):
        raise argparse.ArgumentTypeError(
            f"{text!r}; expected a class name: letters and digits, starting upper-case (SmaCross)"
        )
    return text


def _type_code(text: str) -> str:
    if not (text.isalnum() and text.isupper() and text.isascii()):
        raise argparse.ArgumentTypeError(f"{text!r}; expected an upper-case code such as MOM")
    return text


def _new(args: argparse.Namespace) -> int:
    path = args.dir / f"{args.name}.py"
    write_files({path: TEMPLATE.format(name=args.name, type=args.type)}, replace=False)
    print(
        f"wrote {path}: try it with `sixbtc backtest {path}`, add it with `sixbtc strategy add {path}`"
    )
    return 0


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
