"""``sixbtc config``: check and show the effective configuration."""

from __future__ import annotations

import argparse
import os

import attrs
import yaml

from sixbtc import config as configuration


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "config",
        help="validate and print the effective configuration",
        description="Load the configuration file (--config, else $SIXBTC_CONFIG, else "
        "./config/config.yaml when present, else the built-in values), apply the "
        "SIXBTC_<SECTION>__<KEY> environment overrides, validate every key and print the result "
        "as YAML, headed by comments naming the file read and the overrides applied.",
    )
    parser.set_defaults(handler=show)


def show(args: argparse.Namespace) -> int:
    loaded = configuration.load(args.config)
    source = f"read {args.config}" if args.config else "no file: the built-in values"
    print(f"# configuration: {source}")
    overrides = sorted(
        name for name in os.environ if name.startswith(configuration.ENV_PREFIX) and "__" in name
    )
    if overrides:
        print(f"# overridden by the environment: {', '.join(overrides)}")
    print(yaml.safe_dump(_plain(attrs.asdict(loaded)), sort_keys=False), end="")
    return 0


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
