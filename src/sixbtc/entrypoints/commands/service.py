"""``sixbtc service NAME``: run one service of the pipeline until SIGTERM or SIGINT."""

from __future__ import annotations

import argparse
import functools
import logging

from sixbtc.entrypoints import services


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "service",
        help="run one service of the factory (generator, validator, backtester, executor, scorer, "
        "rotator, monitor) until stopped",
        description="Run one service of the pipeline on the configured database until SIGTERM or "
        "SIGINT (each loop finishes its current tick, then the process exits 0). The services "
        "share the database and can run as many processes on as many machines as needed; each "
        "claims its work atomically. They never migrate the schema: run `sixbtc db upgrade` "
        "first. The same services are installed as sixbtc-generator, -validator, -backtester, "
        "-executor, -scorer, -rotator and -monitor; `sixbtc run` runs them all in one process.",
    )
    names = parser.add_subparsers(title="services", metavar="SERVICE", required=True)
    for service in services.SERVICES:
        command = names.add_parser(
            service.name, help=service.summary, description=service.description
        )
        services.add_arguments(command, service)
        command.set_defaults(handler=functools.partial(_run, service), log_level=logging.INFO)


def _run(service: services.Service, args: argparse.Namespace) -> int:
    return services.serve(service, args.config, once=args.once, interval=args.interval)
