"""``sixbtc halt``, ``sixbtc flatten`` and ``sixbtc resume``: the kill switch, recorded in the
database and obeyed by every executor at its next pass (within seconds)."""

from __future__ import annotations

import argparse
import getpass
import socket
import sys

from sixbtc.application.errors import ApplicationError
from sixbtc.domain.halt import HaltKind
from sixbtc.entrypoints import wiring

_OBEYED = (
    "Every executor reads the kill switch from the database at each pass (every few seconds); "
    "nothing else needs restarting."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    halt = subparsers.add_parser(
        "halt",
        help="stop new entries on every subaccount (exits, stops and targets still run)",
        description="Record a halt: no executor opens a position until `sixbtc resume`; exits, "
        "resting stops and targets still run. " + _OBEYED,
    )
    _note(halt)
    halt.set_defaults(handler=_set, kind=HaltKind.HALT)
    flatten = subparsers.add_parser(
        "flatten",
        help="cancel every order and close every position at market, then stay halted",
        description="Record a flatten: every executor cancels each subaccount's orders and "
        "closes its positions at market (a paper exchange at its next candle), then trading "
        "stays halted until `sixbtc resume`. Strategies stay LIVE; their trades close with "
        "reason `end`. " + _OBEYED,
    )
    _note(flatten)
    flatten.add_argument(
        "--yes", action="store_true", help="do not ask for confirmation (scripts, no terminal)"
    )
    flatten.set_defaults(handler=_set, kind=HaltKind.FLATTEN)
    resume = subparsers.add_parser(
        "resume",
        help="lift every halt: entries resume at the executors' next pass",
        description="Lift every active halt, the operator's and the emergency stops' (a lifted "
        "drawdown stop measures from the portfolio's value now; a daily-loss stop does not fire "
        "again the same UTC day). Subaccounts blocked by a reconciliation issue stay blocked "
        "until the issue is gone (`sixbtc status` lists them). " + _OBEYED,
    )
    resume.set_defaults(handler=_resume)


def _note(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reason", default="", metavar="TEXT", help="why, recorded with the halt")


def _operator() -> str:
    return f"operator:{getpass.getuser()}@{socket.gethostname()}"


def _set(args: argparse.Namespace) -> int:
    if args.kind is HaltKind.FLATTEN and not args.yes:
        if not sys.stdin.isatty():
            raise ApplicationError(
                "flatten: closes every position at market; confirm with --yes (no terminal to "
                "ask on)"
            )
        answer = input("Close every position at market and halt trading? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing done")
            return 1
    container = wiring.container(args.config)
    try:
        container.schema().require_current()
        halt = wiring.use_cases(container).kill_switch().halt(_operator(), args.reason, args.kind)
    finally:
        container.shutdown_resources()
    print(f"halt {halt.id}: {halt.describe()}")
    return 0


def _resume(args: argparse.Namespace) -> int:
    container = wiring.container(args.config)
    try:
        container.schema().require_current()
        lifted = wiring.use_cases(container).kill_switch().resume(_operator())
    finally:
        container.shutdown_resources()
    if not lifted:
        print("trading was not halted; nothing to lift")
    for halt in lifted:
        print(f"lifted halt {halt.id}: {halt.kind} ({halt.cause}: {halt.detail})")
    return 0
