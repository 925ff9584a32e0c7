"""What every command line does the same way: logging, and errors users cause or stop said in one
line (never a traceback) with an exit code a script can test."""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Callable

from sixbtc.application.errors import ApplicationError
from sixbtc.config import ConfigError


def configure_logging(verbose: bool, level: int = logging.INFO) -> None:
    """Log lines at ``level`` and above (DEBUG with -v): a service's INFO lines are its record;
    a command's own output is what it prints, so commands log warnings only. The libraries'
    chatter (alembic) only with -v."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not verbose:
        logging.getLogger("alembic").setLevel(max(level, logging.WARNING))


def guarded(
    handler: Callable[[argparse.Namespace], int | None], args: argparse.Namespace, prog: str
):
    """``handler(args)`` with what users get wrong or stop said in one line, never a traceback:
    exit 2 for a configuration error, 1 when the database, the schema, the market data or the
    input refuse, 130 after Ctrl-C."""
    try:
        return int(handler(args) or 0)
    except ConfigError as error:
        print(f"{prog}: configuration error: {error}", file=sys.stderr)
        return 2
    except ApplicationError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{prog}: interrupted; nothing half-done is kept", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def bounded(
    kind: type[int] | type[float], minimum: float, *, strict: bool = False, unit: str = ""
) -> Callable[[str], int | float]:
    """An argparse type: a finite ``kind`` at least ``minimum`` (above it when ``strict``); the
    error names the value and what was expected (``unit``: what the number counts)."""
    name = ("an integer" if kind is int else "a number") + (f" of {unit}" if unit else "")
    expected = f"{name} {'>' if strict else '>='} {minimum:g}"

    def parse(text: str) -> int | float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {name}") from None
        if not math.isfinite(value) or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"{value}; expected {expected}")
        return value

    return parse
