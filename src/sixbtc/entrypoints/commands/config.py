"""``sixbtc config``: check and show the effective configuration."""

from __future__ import annotations

import argparse

import attrs
import yaml

from sixbtc import config as configuration


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="validate and print the effective configuration",
        description="Load the configuration file, apply SIXBTC_* environment overrides, validate "
        "every key and print the result as YAML.",
    )
    parser.set_defaults(handler=show)


def show(args: argparse.Namespace) -> int:
    loaded = configuration.load(args.config)
    print(yaml.safe_dump(_plain(attrs.asdict(loaded)), sort_keys=False), end="")
    return 0


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
