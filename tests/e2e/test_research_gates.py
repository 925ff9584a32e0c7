"""Proof that the research gates work, on synthetic markets whose truth is known (spec section 12):
on a pure random walk nothing reaches LIVE and fewer than 1% of strategies enter ACTIVE; on a
market with a planted edge, a strategy that exploits it passes every gate and ranks at the top.

Everything goes the real path: the container's sandbox, validator, numba engine and SQLite store.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
from dependency_injector import providers

from sixbtc import config as configuration
from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.containers import build, use_cases
from sixbtc.domain.strategy import Status

NOW = datetime(2026, 11, 25, tzinfo=UTC)

#: Long after three down bars in a row (each closing below its open), short after three up bars:
#: the reversal planted in ``planted_edge`` markets (see adapters/market/synthetic.py).
PLANTED_REVERSAL = '''import numpy as np


class PlantedReversal:
    """Buys the third down bar in a row, sells the third up bar in a row."""

    strategy_type = "REV"
    parameters = {"streak": 3}
    warmup = 10

    def signals(self, bars):
        streak = self.parameters["streak"]
        down = (bars.close < bars.open).astype(float).rolling(streak).sum() == streak
        up = (bars.close > bars.open).astype(float).rolling(streak).sum() == streak
        return np.where(down, 1, np.where(up, -1, 0))
'''


def environment(tmp_path, mode: str, timeframes: str, days: tuple[int, int]) -> dict[str, str]:
    return {
        "SIXBTC_DATABASE__URL": f"sqlite:///{tmp_path / 'sixbtc.db'}",
        "SIXBTC_MARKET_DATA__SYNTHETIC_MODE": mode,
        "SIXBTC_MARKET_DATA__SYNTHETIC_END": "2026-11-25",
        "SIXBTC_BACKTESTER__COINS": "3",
        "SIXBTC_BACKTESTER__TRAINING_DAYS": str(days[0]),
        "SIXBTC_BACKTESTER__HOLDOUT_DAYS": str(days[1]),
        "SIXBTC_BACKTESTER__TIMEFRAMES": timeframes,
        "SIXBTC_SCORING__MIN_TRADES": "{5m: 10, 15m: 10, 30m: 10, 1h: 5, 4h: 3, 1d: 1}",
    }


@pytest.fixture
def containers():
    built = []

    def make(environ: dict[str, str]):
        settings = configuration.load(None, environ=environ)
        migrations.upgrade(settings.database.url)
        container = build(settings)
        container.clock.override(providers.Object(ManualClock(NOW)))
        built.append(container)
        return container

    yield make
    for container in built:
        container.shutdown_resources()


def random_walk_pass(containers, tmp_path, strategies: int, timeframes: str):
    container = containers(environment(tmp_path, "random_walk", timeframes, (40, 10)))
    report = use_cases(container).pipeline_pass().run(strategies=strategies)
    assert report.validated > 0, "generated strategies reach the backtest"
    return container, report


def assert_noise_is_kept_out(container, report) -> None:
    backtested = len(report.backtests)
    admitted = report.statuses[Status.ACTIVE] + report.statuses[Status.LIVE]
    assert report.statuses[Status.LIVE] == 0
    assert admitted < 0.01 * backtested or admitted == 0
    with container.unit_of_work() as uow:
        for strategy in uow.strategies.by_status(Status.ACTIVE):
            assert strategy.score_backtest < 50


def test_on_a_random_walk_no_generated_strategy_passes_the_gates(containers, tmp_path):
    container, report = random_walk_pass(containers, tmp_path, 12, "[15m, 1h, 4h]")
    assert_noise_is_kept_out(container, report)


@pytest.mark.slow
def test_on_a_random_walk_a_large_batch_stays_out_of_the_pool(containers, tmp_path):
    container, report = random_walk_pass(containers, tmp_path, 150, "[5m, 15m, 30m, 1h, 4h, 1d]")
    assert len(report.backtests) >= 100
    assert_noise_is_kept_out(container, report)


def test_on_a_planted_edge_the_exploiting_strategy_passes_every_gate_and_leads(
    containers, tmp_path, caplog
):
    container = containers(environment(tmp_path, "planted_edge", "[5m, 15m, 1h]", (20, 5)))
    planted = container.add_strategy()(PLANTED_REVERSAL, name="planted_reversal")
    with caplog.at_level(logging.INFO, logger="sixbtc.application.backtest"):
        report = use_cases(container).pipeline_pass().run(strategies=8)

    with container.unit_of_work() as uow:
        strategy = uow.strategies.get(planted.id)
    assert strategy.status is Status.ACTIVE, strategy.retired_reason
    assert report.leaderboard[0].id == planted.id
    assert any(f"strategy {planted.id} passed the research gates" in m for m in caplog.messages)
    assert all(s.score_backtest < strategy.score_backtest for s in report.leaderboard[1:])
