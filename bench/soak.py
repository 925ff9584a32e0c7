"""Soak: the services as separate processes on PostgreSQL for a while, with faults injected, then
the database and the machine checked.

Runs every service, each in its own process group as systemd or supervisor would start them (a
generator, a validator, two backtesters, the executor, the scorer, the rotator and the monitor:
``sixbtc service NAME``), on a scratch database of the server of SIXBTC_TEST_POSTGRES_URL, on the
planted-edge synthetic market with a small pool, two LIVE slots, checks every 12 seconds, a short
retest interval and a one-minute lease so that every path turns over. Faults: kill -9 of a backtester
while it holds a claim (it is started again), a database restart (``--restart server``: the
PostgreSQL cluster; ``sessions``: every connection of the scratch database terminated, which
leaves other databases alone), then SIGTERM to every service's process group.

Checked and printed: pool invariants (size, entry score), LIVE within its slots with one
subaccount each, every strategy's event chain consistent
and ending in its status, no initial backtest recorded twice, no claim left on a decided strategy
(one left on a waiting strategy is taken over when its lease ends), no strategy retired for our
fault, the services' exit codes, and the number of our processes and their memory before, during
and after (no growth; nothing left). Exit status 1 when a check fails.

    .venv/bin/python bench/soak.py [--minutes 10] [--restart server|sessions]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import sqlalchemy as sa

from sixbtc.adapters.sqlalchemy import migrations

SERVICES = (
    "generator", "validator", "backtester", "backtester", "executor", "scorer", "rotator", "monitor"
)  # fmt: skip
MAX_LIVE = 2
#: Retirement reasons that would blame a strategy for our own failure.
OUR_FAULT = re.compile(
    r"sandbox worker|SandboxError|DatabaseUnavailable|OperationalError|database|connection|"
    r"Interrupted|KeyboardInterrupt",
    re.IGNORECASE,
)
POOL_SIZE, ENTRY_SCORE = 5, 15.0
PR_SET_CHILD_SUBREAPER = 36


def environment(url: str, cache: str) -> dict[str, str]:
    return {
        **os.environ,
        "SIXBTC_DATABASE__URL": url,
        "SIXBTC_MARKET_DATA__SYNTHETIC_MODE": "planted_edge",
        "SIXBTC_MARKET_DATA__CACHE_DIR": cache,
        "SIXBTC_ACTIVE_POOL__MAX_SIZE": str(POOL_SIZE),
        "SIXBTC_ACTIVE_POOL__MIN_SCORE_ENTRY": str(ENTRY_SCORE),
        "SIXBTC_ROTATOR__MIN_SCORE_LIVE": "50",
        "SIXBTC_ROTATOR__MAX_LIVE_STRATEGIES": str(MAX_LIVE),
        "SIXBTC_ROTATOR__CHECK_INTERVAL_MINUTES": "0.2",
        "SIXBTC_MONITOR__CHECK_INTERVAL_MINUTES": "0.2",
        "SIXBTC_VALIDATOR__LIVE_HISTORY_BARS": "1000",
        "SIXBTC_BACKTESTER__RETEST_INTERVAL_DAYS": "0.002",  # about 3 minutes
        "SIXBTC_BACKTESTER__CLAIM_LEASE_MINUTES": "1",
        "SIXBTC_PIPELINE__QUEUE_LIMITS__GENERATED": "20",
        "SIXBTC_PIPELINE__QUEUE_LIMITS__VALIDATED": "10",
    }


# --- processes --------------------------------------------------------------------------------


def _processes() -> dict[int, tuple[int, str, int]]:
    """Every process: pid -> (parent pid, command line, resident KiB)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(re.search(r"^PPid:\s+(\d+)", status, re.M).group(1))
        rss = re.search(r"^VmRSS:\s+(\d+)", status, re.M)
        found[int(entry.name)] = (ppid, cmdline, int(rss.group(1)) if rss else 0)
    return found


def become_subreaper() -> None:
    """Orphans among our descendants are re-parented to this process, not to init, so that
    counting our descendants counts every process the services left behind."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def ours() -> tuple[int, int, int]:
    """Our service processes and sandbox processes (count each, descendants of this process) and
    their memory in MiB."""
    table = _processes()
    me = os.getpid()

    def descends(pid: int) -> bool:
        while pid > 1:
            pid = table[pid][0] if pid in table else 0
            if pid == me:
                return True
        return False

    services = sandbox = rss = 0
    for pid, (_, cmdline, kib) in table.items():
        if not descends(pid):
            continue
        if "sixbtc.adapters.sandbox.worker" in cmdline:
            sandbox += 1
        elif "sixbtc.entrypoints.cli service" in cmdline:
            services += 1
        else:
            continue
        rss += kib
    return services, sandbox, rss // 1024


class Service:
    def __init__(self, name: str, env: dict[str, str], logs: Path, number: int) -> None:
        self.name, self.env = name, env
        self.log = logs / f"{number}-{name}.log"
        self.process: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "sixbtc.entrypoints.cli", "service", self.name],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, as a supervisor starts it
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        os.killpg(self.pid, signal.SIGKILL)
        self.process.wait()

    def terminate(self) -> None:
        os.killpg(self.pid, signal.SIGTERM)


# --- faults -----------------------------------------------------------------------------------


def claims_of(engine: sa.Engine, pid: int) -> int:
    owner = f"{socket.gethostname()}:{pid}:%"
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT count(*) FROM strategies WHERE claimed_by LIKE :owner"),
            {"owner": owner},
        ).scalar_one()


def kill_mid_backtest(backtester: Service, engine: sa.Engine, patience: float = 180) -> str:
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if claims_of(engine, backtester.pid):
            backtester.kill()
            return "killed (-9) while holding a claim"
        time.sleep(0.5)
    backtester.kill()
    return "killed (-9); it held no claim within the patience"


def restart_database(how: str, admin: sa.Engine, name: str) -> str:
    if how == "server":
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"], check=True
        )
        return f"PostgreSQL {version} restarted"
    with admin.connect() as connection:
        count = connection.execute(
            sa.text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        ).scalar_one()
    return f"{count} database sessions terminated"


# --- checks -----------------------------------------------------------------------------------


def check_database(engine: sa.Engine) -> tuple[list[str], dict[str, object]]:
    problems: list[str] = []
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT id, status, score_backtest, retired_reason, claimed_by, claim_expires_at, "
                "work_failures FROM strategies"
            )
        ).all()
        events = c.execute(
            sa.text(
                "SELECT strategy_id, from_status, to_status, at FROM strategy_events ORDER BY id"
            )
        ).all()
        initial = c.execute(
            sa.text(
                "SELECT strategy_id, count(*) FROM backtest_results WHERE run_kind = 'initial' "
                "GROUP BY strategy_id HAVING count(*) > 1"
            )
        ).all()
        retests = c.execute(
            sa.text("SELECT count(*) FROM backtest_results WHERE run_kind = 'retest'")
        ).scalar_one()
        accounts = c.execute(sa.text("SELECT id, strategy_id FROM subaccounts")).all()
        trading = c.execute(sa.text("SELECT count(*), count(exit_time) FROM trades")).one()
        orders = c.execute(sa.text("SELECT status, count(*) FROM orders GROUP BY status")).all()
    statuses = Counter(row.status for row in rows)
    active = [row for row in rows if row.status == "ACTIVE"]
    if len(active) > POOL_SIZE:
        problems.append(f"pool holds {len(active)} strategies; at most {POOL_SIZE}")
    low = [
        row.id for row in active if row.score_backtest is None or row.score_backtest < ENTRY_SCORE
    ]
    if low:
        problems.append(f"{len(low)} ACTIVE strategies below the entry score: {low[:3]}")
    chains: dict[uuid.UUID, list] = defaultdict(list)
    for event in events:
        chains[event.strategy_id].append(event)
    broken = 0
    for row in rows:
        chain = chains.get(row.id, [])
        expected, last_at = "GENERATED", None
        for event in chain:
            if event.from_status != expected or (last_at and event.at < last_at):
                broken += 1
                break
            expected, last_at = event.to_status, event.at
        else:
            if expected != row.status:
                broken += 1
    if broken:
        problems.append(f"{broken} strategies whose event chain does not end in their status")
    if initial:
        problems.append(f"{len(initial)} strategies backtested twice: {initial[:3]}")
    live = {row.id for row in rows if row.status == "LIVE"}
    if len(live) > MAX_LIVE:
        problems.append(f"{len(live)} LIVE strategies; at most {MAX_LIVE}")
    assigned = [a.strategy_id for a in accounts if a.strategy_id]
    if len(assigned) != len(set(assigned)):
        problems.append(f"a strategy holds several subaccounts: {assigned}")
    if not live <= set(assigned):
        problems.append(f"LIVE strategies without a subaccount: {sorted(live - set(assigned))}")
    # Every service has stopped: a claim left is one a process could not release (killed, or the
    # database gone at that moment). On a strategy still waiting for work its lease ends and it is
    # taken over; on a decided one (ACTIVE or RETIRED) it means a decision did not end its claim.
    held = [row for row in rows if row.claimed_by]
    stale = [row for row in held if row.status in ("ACTIVE", "RETIRED")]
    if stale:
        problems.append(
            f"{len(stale)} claims left on decided strategies: "
            + "; ".join(
                f"{row.id} {row.status} by {row.claimed_by} until {row.claim_expires_at}"
                for row in stale
            )
        )
    waiting = [row for row in held if row not in stale]
    blamed = [
        row.retired_reason
        for row in rows
        if row.retired_reason and OUR_FAULT.search(row.retired_reason)
    ]
    if blamed:
        problems.append(f"{len(blamed)} strategies retired for our fault: {blamed[:3]}")
    reasons = Counter(
        (row.retired_reason or "").split(":")[0] for row in rows if row.status == "RETIRED"
    )
    figures = {
        "strategies": len(rows),
        "claims left on waiting strategies (taken over when their lease ends)": len(waiting),
        "by status": dict(statuses),
        "events": len(events),
        "re-backtests": retests,
        "LIVE now / subaccounts in use": f"{len(live)} / {len(assigned)}",
        "live trades (closed)": f"{trading[0]} ({trading[1]})",
        "orders by status": dict(orders),
        "retired by reason": dict(reasons.most_common()),
        "deferred after our failures (now or before)": sum(1 for r in rows if r.work_failures),
    }
    return problems, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the services run")
    parser.add_argument(
        "--restart",
        choices=("server", "sessions"),
        default="server" if shutil.which("pg_ctlcluster") and os.geteuid() == 0 else "sessions",
        help="how the database restart is injected (default: server when allowed)",
    )
    args = parser.parse_args()
    become_subreaper()
    server_url = os.environ.get(
        "SIXBTC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    server = sa.make_url(server_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", pool_pre_ping=True)
    name = f"sixbtc_soak_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = server.set(database=name).render_as_string(hide_password=False)
    engine = sa.create_engine(url, pool_pre_ping=True)
    work = Path(tempfile.mkdtemp(prefix="sixbtc-soak-"))
    problems: list[str] = []
    try:
        migrations.upgrade(url)
        env = environment(url, str(work / "cache"))
        before = ours()
        print(f"soak: {args.minutes:g} min on {name}; logs in {work}")
        print(f"before: {before[0]} service and {before[1]} sandbox processes, {before[2]} MiB")
        started = time.monotonic()
        services = [Service(s, env, work, n) for n, s in enumerate(SERVICES)]
        total = args.minutes * 60
        faults = [
            (0.3 * total, "kill a backtester mid-backtest"),
            (0.6 * total, f"restart the database ({args.restart})"),
        ]
        samples = []
        while (elapsed := time.monotonic() - started) < total:
            if faults and elapsed >= faults[0][0]:
                _, what = faults.pop(0)
                if what.startswith("kill"):
                    victim = services[2]
                    outcome = kill_mid_backtest(victim, engine)
                    victim.start()
                else:
                    outcome = restart_database(args.restart, admin, name)
                print(f"  {elapsed:6.0f} s  {what}: {outcome}")
            for service in services:
                if service.process.poll() is not None:
                    problems.append(
                        f"{service.name} exited on its own ({service.process.returncode})"
                    )
                    service.start()
            samples.append(ours())
            time.sleep(5)
        for service in services:
            service.terminate()
        codes = []
        for service in services:
            try:
                codes.append(service.process.wait(timeout=300))
            except subprocess.TimeoutExpired:
                service.kill()
                codes.append("killed after 300 s")
        print(f"exit codes after SIGTERM to each process group: {codes}")
        if any(code != 0 for code in codes):
            problems.append(f"services did not exit 0 on SIGTERM: {codes}")
        time.sleep(2)
        after = ours()
        during = [s[2] for s in samples]
        sandboxes = [s[1] for s in samples]
        third = max(1, len(during) // 3)
        print(
            f"during: {min(sandboxes)}..{max(sandboxes)} sandbox processes; memory "
            f"{min(during)}..{max(during)} MiB (first third max {max(during[:third])}, "
            f"last third max {max(during[-third:])})"
        )
        print(f"after: {after[0]} service and {after[1]} sandbox processes, {after[2]} MiB")
        if after[:2] != before[:2]:
            problems.append(f"processes left: before {before}, after {after}")
        if max(during[-third:]) > 1.5 * max(during[:third]) + 200:
            problems.append("memory grew during the run")
        found, figures = check_database(engine)
        problems += found
        for key, value in figures.items():
            print(f"{key}: {value}")
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
    for problem in problems:
        print(f"FAILED: {problem}")
    print("soak: " + ("FAILED" if problems else "every check passed"))
    if not problems:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
