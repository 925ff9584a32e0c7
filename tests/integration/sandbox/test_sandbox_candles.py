"""Candles reach strategy processes through the worker's shared buffer, whatever their length."""

from __future__ import annotations

import numpy as np
from tests.strategy_samples import EMA_CROSS, random_walk

from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.adapters.sandbox.runtime import COLUMNS, StrategyRuntime
from sixbtc.adapters.sandbox.shared import BAR_BYTES, MINIMUM_BYTES


def in_process(code, candles):
    return StrategyRuntime().signals(code, {name: getattr(candles, name) for name in COLUMNS})


def test_a_request_larger_than_the_buffer_gets_a_worker_with_a_larger_one():
    small, large = random_walk(2000, seed=1), random_walk(MINIMUM_BYTES // BAR_BYTES + 1, seed=2)
    with SandboxSignalSource(workers=1, cpu_seconds=10, memory_mb=512) as sandbox:
        for candles in (small, large, small):
            np.testing.assert_array_equal(
                sandbox.signals(EMA_CROSS, candles), in_process(EMA_CROSS, candles)
            )
        (worker,) = sandbox._live
        assert worker.buffer.size == 2 * MINIMUM_BYTES
