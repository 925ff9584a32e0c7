"""NumbaBacktestEngine: the BacktestEngine port on the numba kernel."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numba
import numpy as np

from sixbtc.adapters.engine import kernel
from sixbtc.adapters.engine.portfolio import Portfolio
from sixbtc.adapters.engine.run import EXIT_CODES
from sixbtc.application.ports import Market
from sixbtc.domain.backtest import Costs, ExecutionParameters, StopUnit
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.position import Direction
from sixbtc.domain.simulation import SimulatedTrade, SimulationRun

# numba's default threading layer must not run two parallel kernels at once; the kernel already
# uses every allowed core, so concurrent callers simply take turns.
_KERNEL_LOCK = threading.Lock()


_UNIT_CODES = {StopUnit.PERCENT: kernel.PERCENT, StopUnit.ATR: kernel.ATR}
DIRECTIONS = {int(d): d for d in Direction}


def _metrics(row: np.ndarray) -> Metrics:
    return Metrics(*(float(v) for v in row[: kernel.TRADES]), trades=int(row[kernel.TRADES]))


def price_arrays(portfolio: Portfolio) -> tuple[np.ndarray, ...]:
    """The kernel's market arguments, from ``open_`` to ``kind``."""
    return (
        portfolio.open,
        portfolio.high,
        portfolio.low,
        portfolio.close,
        portfolio.prev_signal,
        portfolio.kind,
    )


def parameter_arrays(
    portfolio: Portfolio, combinations: Sequence[ExecutionParameters]
) -> tuple[np.ndarray, ...]:
    """The kernel's ATR table and per-combination arrays (from ``atr`` to ``atr_row``); the table
    has one layer per distinct ATR period of the ATR combinations (none in percent sweeps)."""
    periods = sorted({p.atr_period for p in combinations if p.stop_unit is StopUnit.ATR})
    atr = np.empty((len(periods), *portfolio.open.shape))
    for layer, period in zip(atr, periods, strict=True):
        layer[:] = kernel.entry_atr(
            portfolio.high, portfolio.low, portfolio.close, portfolio.kind, period
        )
    return (
        atr,
        np.array([p.stop_loss for p in combinations], dtype=np.float64),
        np.array([p.take_profit for p in combinations], dtype=np.float64),
        np.array([p.leverage for p in combinations], dtype=np.float64),
        np.array([p.max_hold_bars for p in combinations], dtype=np.int64),
        np.array([_UNIT_CODES[p.stop_unit] for p in combinations], dtype=np.int8),
        np.array(
            [
                periods.index(p.atr_period) if p.stop_unit is StopUnit.ATR else 0
                for p in combinations
            ],
            dtype=np.int64,
        ),
    )


class NumbaBacktestEngine:
    """Simulates every combination in one parallel pass over the shared signals.

    ``workers`` caps the threads (0: every core numba may use).
    """

    def __init__(self, workers: int = 0) -> None:
        if workers < 0:
            raise ValueError(f"workers: {workers}; expected 0 (every core) or a positive count")
        self.workers = min(
            workers or numba.config.NUMBA_NUM_THREADS, numba.config.NUMBA_NUM_THREADS
        )

    def sweep(
        self,
        markets: Sequence[Market],
        combinations: Sequence[ExecutionParameters],
        costs: Costs,
    ) -> list[Metrics]:
        """Portfolio metrics of each combination, in the order given."""
        if not combinations:
            return []
        portfolio = Portfolio.of(markets)
        chunks = min(self.workers, len(combinations))
        with _KERNEL_LOCK:
            numba.set_num_threads(self.workers)
            stats = kernel.sweep(
                *price_arrays(portfolio),
                *parameter_arrays(portfolio, combinations),
                costs.per_side,
                portfolio.timeframe.bars_per_year,
                chunks,
            )
        return [_metrics(row) for row in stats]

    def run(
        self, markets: Sequence[Market], parameters: ExecutionParameters, costs: Costs
    ) -> SimulationRun:
        """One combination with its trade list and per-bar portfolio equity."""
        portfolio = Portfolio.of(markets)
        rows, curve, stats = trade_rows(portfolio, parameters, costs)
        times = portfolio.times
        # Whole columns to Python values at once: a 5m backtest may close 100,000 trades.
        coins, directions, entry_bars, exit_bars, reasons = rows[:, [0, 1, 2, 4, 6]].T.astype(
            np.int64
        )
        columns = zip(
            coins.tolist(),
            directions.tolist(),
            times[entry_bars].tolist(),
            rows[:, 3].tolist(),
            times[exit_bars].tolist(),
            rows[:, 5].tolist(),
            reasons.tolist(),
            rows[:, 7].tolist(),
            strict=True,
        )
        symbols = portfolio.symbols
        trades = [  # SimulatedTrade's fields in order
            SimulatedTrade(symbols[c], DIRECTIONS[d], t0, p0, t1, p1, EXIT_CODES[r], gain)
            for c, d, t0, p0, t1, p1, r, gain in columns
        ]
        return SimulationRun(trades, times, curve, _metrics(stats))


def trade_rows(
    portfolio: Portfolio, parameters: ExecutionParameters, costs: Costs
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One combination's raw kernel output: its trades (``kernel.TRADE_COLUMNS`` wide, by exit bar
    then coin; bars are portfolio grid indices), the portfolio equity curve and its statistics."""
    stats = np.zeros((1, kernel.STAT_COLUMNS))
    rows = np.zeros((int(np.count_nonzero(portfolio.kind)), kernel.TRADE_COLUMNS))
    curve = np.zeros(portfolio.bar_count + 1)
    recorded = kernel.run_chunk(
        *price_arrays(portfolio),
        *parameter_arrays(portfolio, [parameters]),
        costs.per_side,
        portfolio.timeframe.bars_per_year,
        np.zeros(1, dtype=np.int64),
        stats,
        rows,
        curve,
    )
    return rows[:recorded], curve, stats[0]
