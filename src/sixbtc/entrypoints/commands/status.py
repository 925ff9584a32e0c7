"""``sixbtc status``: the factory at a glance, from the database."""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from sixbtc.application.status import FactoryStatus
from sixbtc.entrypoints import wiring
from sixbtc.entrypoints.output import ago, number, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status",
        help="the factory at a glance: funnel, pool, LIVE slots, queues, claims, services",
        description="Read the configured database and show: strategies per status, the ACTIVE "
        "pool's size and scores and its due re-backtests, the LIVE slots with their subaccounts, "
        "the queues against their limits, strategies waiting after failures of ours, the claims "
        "workers hold, and each service process's latest tick and latest error (services record "
        "a heartbeat at most every 10 s, after every failed tick and when they stop; those heard "
        "from in the last day are listed). Nothing is changed.",
    )
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(handler=show)


def show(args: argparse.Namespace) -> int:
    container = wiring.container(args.config)
    try:
        container.schema().require_current()
        status = wiring.use_cases(container).status()()
    finally:
        container.shutdown_resources()
    if args.json:
        print_json(status)
    else:
        console = Console()
        for part in render(status):
            console.print(part)
    return 0


def render(status: FactoryStatus) -> list:
    """The status as rich renderables."""
    pool = status.pool
    lines = [
        f"now {status.at:%Y-%m-%d %H:%M:%S} UTC",
        "funnel: " + ", ".join(f"{s} {n}" for s, n in status.statuses.items()),
        f"pool: {pool.size} / {pool.max_size}, score min {number(pool.min_score)} median "
        f"{number(pool.median_score)} max {number(pool.max_score)}; re-backtests due "
        f"{pool.due_retests}",
        "queues: "
        + ", ".join(f"{q.status} {q.waiting} / {q.limit}" for q in status.queues)
        + f"; waiting after failures of ours: {status.deferred}",
        f"LIVE: {status.live} / {status.max_live} slots",
        "trading: "
        + (
            "; ".join(f"HALTED, halt {h.id}: {h.describe()}" for h in status.halts)
            if status.halts
            else "running (no halt)"
        ),
    ]
    lines += [
        f"subaccount {i.subaccount} blocked since {i.found_at:%Y-%m-%d %H:%M} UTC: {i.kind}: "
        f"{i.detail}"
        for i in status.issues
    ]
    out: list = ["\n".join(lines)]
    if status.slots:
        slots = Table(title="subaccounts")
        for column in ("sub", "strategy", "status", "capital", "balance", "peak"):
            slots.add_column(column)
        for s in status.slots:
            slots.add_row(
                str(s.subaccount),
                s.strategy or "(free)",
                str(s.status or "-"),
                number(s.capital),
                number(s.balance),
                number(s.peak),
            )
        out.append(slots)
    claims = Table(title=f"claims held ({len(status.claims)})")
    for column in ("strategy", "status", "worker", "lease ends"):
        claims.add_column(column)
    for c in status.claims:
        claims.add_row(c.name, str(c.status), c.owner, f"{c.expires_at:%Y-%m-%d %H:%M:%S}")
    out.append(claims if status.claims else "claims held: none")
    older = f" ({status.older_services} older not shown)" if status.older_services else ""
    if not status.services:
        out.append(f"services: none heard from in the last day{older}")
        return out
    services = Table(title=f"service processes{older}")
    for column in (
        "service",
        "process",
        "started",
        "last tick",
        "state",
        "ticks",
        "failed",
        "last error",
    ):
        services.add_column(column)
    for h in status.services:
        failing = h.last_error_at is not None and h.last_error_at >= h.beat_at
        error = (
            "-" if h.last_error is None else f"{ago(h.last_error_at, status.wall)}: {h.last_error}"
        )
        services.add_row(
            h.service,
            h.owner,
            ago(h.started_at, status.wall),
            ago(h.beat_at, status.wall),
            f"stopped {ago(h.stopped_at, status.wall)}"
            if h.stopped_at
            else ("failing" if failing else "running"),
            str(h.ticks),
            str(h.failures),
            error[:120],
        )
    out.append(services)
    return out
