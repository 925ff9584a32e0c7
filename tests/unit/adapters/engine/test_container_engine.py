"""The composition root builds the numba engine with the configured worker cap."""

import numba

from sixbtc.config import from_mapping
from sixbtc.containers import build


def test_container_caps_engine_workers_from_configuration():
    assert build(from_mapping({"backtester": {"workers": 1}})).backtest_engine().workers == 1


def test_zero_workers_means_every_core():
    engine = build(from_mapping({"backtester": {"workers": 0}})).backtest_engine()
    assert engine.workers == numba.config.NUMBA_NUM_THREADS
