"""Backtest engines: the numba kernel and the pure-Python reference it is tested against."""

from sixbtc.adapters.engine.numba_engine import NumbaBacktestEngine
from sixbtc.adapters.engine.reference import PythonBacktestEngine
from sixbtc.domain.position import ExitReason
from sixbtc.domain.simulation import SimulatedTrade, SimulationRun

__all__ = [
    "ExitReason",
    "NumbaBacktestEngine",
    "PythonBacktestEngine",
    "SimulatedTrade",
    "SimulationRun",
]
