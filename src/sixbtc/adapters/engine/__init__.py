"""Backtest engines: the numba kernel and the pure-Python reference it is tested against."""

from sixbtc.adapters.engine.numba_engine import NumbaBacktestEngine
from sixbtc.adapters.engine.reference import PythonBacktestEngine
from sixbtc.adapters.engine.run import SimulatedTrade, SimulationRun
from sixbtc.domain.position import ExitReason

__all__ = [
    "ExitReason",
    "NumbaBacktestEngine",
    "PythonBacktestEngine",
    "SimulatedTrade",
    "SimulationRun",
]
