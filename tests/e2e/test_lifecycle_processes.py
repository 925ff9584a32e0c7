"""The lifecycle on PostgreSQL with every service as its own process, as a supervisor runs them:
generator, validator, backtester, executor, scorer, rotator and monitor share one simulated clock
(``clock.speed`` and ``clock.origin``) and nothing else but the database. From strategies added to
an empty database: validated, backtested into a small full pool (refusals or evictions), re-
backtested, deployed to LIVE within the diversification limits, traded on the paper exchange,
retired by the monitor (a strict live score) and replaced by the rotator; then SIGTERM to every
process group: each exits 0 and leaves no process behind, and LIVE stays within its slots with one
subaccount each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

import pytest
from tests.e2e.test_lifecycle import VARIANTS
from tests.e2e.test_pipeline_pass import OPEN_GATES
from tests.integration.conftest import scratch_postgres_database

from sixbtc import config as configuration
from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.containers import build
from sixbtc.domain.reasons import Code
from sixbtc.domain.strategy import Status

pytestmark = pytest.mark.slow

SERVICES = ("generator", "validator", "backtester", "executor", "scorer", "rotator", "monitor")
MAX_LIVE = 2
PATIENCE_SECONDS = 300


def environment(url: str, cache: str) -> dict[str, str]:
    return {
        **os.environ,
        **OPEN_GATES,
        "SIXBTC_DATABASE__URL": url,
        "SIXBTC_CLOCK__SPEED": "360",  # a 15m candle every 2.5 s
        "SIXBTC_CLOCK__ORIGIN": datetime.now(UTC).isoformat(),
        "SIXBTC_MARKET_DATA__SYNTHETIC_MODE": "planted_edge",
        "SIXBTC_MARKET_DATA__CACHE_DIR": cache,
        "SIXBTC_BACKTESTER__COINS": "3",
        "SIXBTC_BACKTESTER__TRAINING_DAYS": "40",
        "SIXBTC_BACKTESTER__HOLDOUT_DAYS": "10",
        "SIXBTC_BACKTESTER__TIMEFRAMES": "[15m]",
        "SIXBTC_BACKTESTER__RETEST_INTERVAL_DAYS": "0.1",  # 24 s
        "SIXBTC_SCORING__MIN_TRADES": "{15m: 5}",
        "SIXBTC_ACTIVE_POOL__MAX_SIZE": "4",
        "SIXBTC_ROTATOR__MAX_LIVE_STRATEGIES": str(MAX_LIVE),
        "SIXBTC_ROTATOR__MIN_SCORE_LIVE": "20",
        "SIXBTC_ROTATOR__SELECTION__MAX_PER_TYPE": "1",
        "SIXBTC_MONITOR__RETIREMENT__MIN_SCORE": "100",  # any LIVE strategy, after its trades
        "SIXBTC_MONITOR__RETIREMENT__MIN_TRADES": "3",
        "SIXBTC_VALIDATOR__LIVE_HISTORY_BARS": "400",
        "SIXBTC_PIPELINE__QUEUE_LIMITS__GENERATED": "2",
        "SIXBTC_GENERATOR__SEED": "42",
        "SIXBTC_SANDBOX__WORKERS": "1",
    }


def start(name: str, env: dict[str, str], log) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "sixbtc.entrypoints.cli", "service", name],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, as a supervisor starts it
    )


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def events_of(container) -> list:
    with container.unit_of_work() as uow:
        return [event for _, event in reversed(uow.strategies.recent_events(100_000))]


def refilled(events: list) -> bool:
    """A LIVE strategy retired by the monitor, and a deployment after it."""
    retired = [e.at for e in events if e.from_status is Status.LIVE and e.service == "monitor"]
    return bool(retired) and any(e.to_status is Status.LIVE and e.at > retired[0] for e in events)


def test_every_service_as_its_own_process_on_postgresql_closes_the_lifecycle(tmp_path):
    with scratch_postgres_database() as url:
        env = environment(url, str(tmp_path / "cache"))
        migrations.upgrade(url)
        settings = configuration.load(None, environ=env)
        container = build(settings)
        for name, code in VARIANTS.items():
            container.add_strategy()(code, name)
        logs = {name: (tmp_path / f"{name}.log").open("w") for name in SERVICES}
        processes = {name: start(name, env, logs[name]) for name in SERVICES}
        try:
            deadline = time.monotonic() + PATIENCE_SECONDS
            while time.monotonic() < deadline and not refilled(events_of(container)):
                assert all(p.poll() is None for p in processes.values()), "a service died"
                time.sleep(2)
        finally:
            for process in processes.values():
                os.killpg(process.pid, signal.SIGTERM)
            codes = {name: p.wait(timeout=60) for name, p in processes.items()}
            for log in logs.values():
                log.close()
        leftovers = [name for name, p in processes.items() if group_alive(p.pid)]
        outputs = {name: (tmp_path / f"{name}.log").read_text()[-2000:] for name in SERVICES}
        assert codes == dict.fromkeys(SERVICES, 0), outputs
        assert not leftovers, leftovers  # no service and no sandbox worker left running

        events = events_of(container)
        codes_seen = Counter(e.reason.code for e in events)
        assert refilled(events), codes_seen
        assert codes_seen[Code.POOL_FULL] + codes_seen[Code.EVICTED] > 0  # the small pool was full
        assert codes_seen[Code.RETEST] > 0  # members were re-backtested
        assert codes_seen[Code.LIVE_SCORE] > 0  # the monitor's retirements
        with container.unit_of_work() as uow:
            live = uow.strategies.by_status(Status.LIVE)
            accounts = [a for a in uow.subaccounts.all() if a.strategy_id]
            traded = uow.trades.count()
            types = Counter(s.strategy_type for s in live)
        assert traded > 0
        assert len(live) <= MAX_LIVE and max(types.values(), default=0) <= 1
        held = Counter(a.strategy_id for a in accounts)
        assert all(held[s.id] == 1 for s in live) and max(held.values(), default=1) == 1
        container.shutdown_resources()
