"""Claims per second with 1, 4 and 8 worker processes, on PostgreSQL and on SQLite.

Each worker loops ``claim(GENERATED, batch) + commit`` until nothing is left; the figure is
strategies claimed per second of wall time. Goal: >= 1,000 claims/s with 8 workers on PostgreSQL.

    .venv/bin/python bench/claims.py [--strategies 4000] [--batch 1 10]

PostgreSQL: a scratch database is created (and dropped) on the server of
SIXBTC_TEST_POSTGRES_URL (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from sixbtc.adapters.sqlalchemy import SqlAlchemyUnitOfWork, create_engine, migrations
from sixbtc.adapters.sqlalchemy.tables import strategies
from sixbtc.domain.strategy import Status, code_hash

FORK = multiprocessing.get_context("fork")
LEASE = timedelta(minutes=5)


def seed(url: str, count: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        {
            "id": uuid.uuid4(), "name": f"s{n}", "strategy_type": "MOM", "status": "GENERATED",
            "code": f"code {n}", "code_hash": code_hash(f"code {n}"), "parameters": {},
            "created_at": start + timedelta(seconds=n),
        }
        for n in range(count)
    ]  # fmt: skip
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(strategies.delete())
        connection.execute(strategies.insert(), rows)
    engine.dispose()


def worker(url: str, owner: str, batch: int, go, claimed) -> None:
    engine = create_engine(url)
    with engine.connect():
        pass  # open the pooled connection before the clock starts
    go.wait()
    count = 0
    while True:
        with SqlAlchemyUnitOfWork(engine) as uow:
            got = uow.claims.claim(Status.GENERATED, batch, owner, datetime.now(UTC), LEASE)
            uow.commit()
        if not got:
            break
        count += len(got)
    engine.dispose()
    claimed.put(count)


def measure(url: str, workers: int, count: int, batch: int) -> float:
    seed(url, count)
    go, claimed = FORK.Event(), FORK.Queue()
    processes = [
        FORK.Process(target=worker, args=(url, f"w{n}", batch, go, claimed)) for n in range(workers)
    ]
    for process in processes:
        process.start()
    time.sleep(0.5)
    started = time.perf_counter()
    go.set()
    total = sum(claimed.get(timeout=600) for _ in processes)
    elapsed = time.perf_counter() - started
    for process in processes:
        process.join()
    if total != count:
        raise SystemExit(f"claimed {total} strategies, expected {count}")
    return total / elapsed


def postgres_scratch(server_url: str) -> tuple[str, sa.Engine, str]:
    server = sa.make_url(server_url)
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    name = f"sixbtc_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return server.set(database=name).render_as_string(hide_password=False), admin, name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", type=int, default=4000)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4, 8])
    args = parser.parse_args()
    server_url = os.environ.get(
        "SIXBTC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    pg_url, admin, name = postgres_scratch(server_url)
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{folder}/bench.db"
        try:
            print(f"cores: {os.cpu_count()}, strategies per run: {args.strategies}")
            print(f"{'database':<11}{'batch':>6}" + "".join(f"{w:>8} w" for w in args.workers))
            for label, url in (("PostgreSQL", pg_url), ("SQLite", sqlite_url)):
                migrations.upgrade(url)
                for batch in args.batch:
                    rates = [measure(url, w, args.strategies, batch) for w in args.workers]
                    print(f"{label:<11}{batch:>6}" + "".join(f"{r:>10.0f}" for r in rates))
            print("figures: strategies claimed per second (claim + commit per transaction)")
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


if __name__ == "__main__":
    main()
