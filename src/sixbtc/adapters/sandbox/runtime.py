"""Running strategy code on candle arrays: the one code path behind every signal.

The backtester and the executor both reach this through the sandbox worker, so a strategy gives the
same signals in both. The strategy interface is documented in ``docs/strategies.md``: one class with
``strategy_type``, ``parameters``, ``warmup`` and ``signals(self, bars)``, where ``bars`` is a
pandas DataFrame with float columns ``open high low close volume`` and int64 ``time`` (UTC open
time, milliseconds), one row per closed bar.

What strategy code prints (and any warning the libraries write) goes to a :class:`DroppedOutput`
for the duration of the call: accepted, never kept, parsed or sent anywhere. It must never reach a
descriptor: in a strategy process the standard streams' descriptors are closed, or reused by the
pipes to the server, whose replies it would corrupt.
"""

from __future__ import annotations

import builtins
import contextlib
import sys
import traceback
from collections import OrderedDict
from collections.abc import Mapping
from types import CodeType

import numpy as np
import pandas as pd

FILENAME = "<strategy>"
COLUMNS = ("time", "open", "high", "low", "close", "volume")
#: Modules strategy code may import; everything else fails even if the syntax check was bypassed.
IMPORTABLE = ("numpy", "pandas", "math", "sixbtc", "sixbtc.indicators")
_HIDDEN_BUILTINS = {
    "__import__",
    "__loader__",
    "__spec__",
    "__build_class__",
    "breakpoint",
    "compile",
    "delattr",
    "dir",
    "eval",
    "exec",
    "exit",
    "getattr",
    "globals",
    "help",
    "input",
    "locals",
    "memoryview",
    "open",
    "quit",
    "setattr",
    "vars",
}


class StrategyFailure(Exception):
    """The strategy's code failed or returned something other than one signal per bar."""


class DroppedOutput:
    """A text stream that accepts everything and keeps nothing (no memory grows with it)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        """Nothing to flush."""


def _guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
    # numpy and pandas import their own submodules lazily through the caller's builtins.
    internal = name.partition(".")[0] in ("numpy", "pandas") and name in sys.modules
    if level != 0 or not (name in IMPORTABLE or internal):
        raise ImportError(f"import of {name!r} is not allowed in strategy code")
    module = sys.modules[name]
    return module if fromlist else sys.modules[name.partition(".")[0]]


def _restricted_builtins() -> dict:
    allowed = {k: v for k, v in vars(builtins).items() if k not in _HIDDEN_BUILTINS}
    allowed["__import__"] = _guarded_import
    allowed["__build_class__"] = builtins.__build_class__
    return allowed


def _describe(error: BaseException) -> str:
    lines = [f.lineno for f in traceback.extract_tb(error.__traceback__) if f.filename == FILENAME]
    where = f" at line {lines[-1]}" if lines else ""
    return f"{type(error).__name__}: {error}{where}"


def frame(arrays: Mapping[str, np.ndarray]) -> pd.DataFrame:
    """The DataFrame a strategy receives."""
    return pd.DataFrame({name: arrays[name] for name in COLUMNS}, copy=False)


def as_signals(result, bars: int) -> np.ndarray:
    """``result`` as an int8 array of -1/0/+1 with one value per bar, or StrategyFailure."""
    try:
        values = np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise StrategyFailure(
            f"signals are not numeric ({type(result).__name__}): {error}"
        ) from None
    if values.shape != (bars,):
        raise StrategyFailure(f"signals have shape {values.shape}; expected ({bars},), one per bar")
    bad = ~np.isfinite(values)
    if bad.any():
        raise StrategyFailure(f"signal {values[bad][0]} at bar {int(np.argmax(bad))} is not finite")
    bad = (values != -1) & (values != 0) & (values != 1)
    if bad.any():
        at = int(np.argmax(bad))
        raise StrategyFailure(f"signal {values[at]} at bar {at} is not -1, 0 or +1")
    return values.astype(np.int8)


class StrategyRuntime:
    """Compiles strategy code (cached) and runs it on candles, with a fresh namespace and instance
    per call so that no state survives from one call to the next."""

    def __init__(self, cache_size: int = 64) -> None:
        self._compiled: OrderedDict[str, CodeType] = OrderedDict()
        self._cache_size = cache_size
        self._builtins = _restricted_builtins()

    def _code(self, code: str) -> CodeType:
        compiled = self._compiled.pop(code, None)
        if compiled is None:
            try:
                compiled = compile(code, FILENAME, "exec", dont_inherit=True)
            except SyntaxError as error:
                raise StrategyFailure(f"SyntaxError: {error.msg} at line {error.lineno}") from None
        self._compiled[code] = compiled
        while len(self._compiled) > self._cache_size:
            self._compiled.popitem(last=False)
        return compiled

    def _instance(self, code: str):
        namespace = {"__builtins__": self._builtins, "__name__": "strategy"}
        exec(self._code(code), namespace)
        classes = [
            value
            for value in namespace.values()
            if isinstance(value, type)
            and value.__module__ == "strategy"
            and callable(getattr(value, "signals", None))
        ]
        if len(classes) != 1:
            raise StrategyFailure(
                f"expected one strategy class with signals(); found {len(classes)}"
            )
        return classes[0]()

    def signals(self, code: str, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        """Signals of ``code`` on ``arrays`` (the :data:`COLUMNS`); StrategyFailure otherwise."""
        bars = frame(arrays)
        output = DroppedOutput()
        # BaseException: ``raise SystemExit`` (or KeyboardInterrupt) in strategy code is the
        # strategy's failure like any other, never the end of the process that runs it.
        try:
            with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
                return as_signals(self._instance(code).signals(bars), len(bars))
        except StrategyFailure:
            raise
        except BaseException as error:
            raise StrategyFailure(_describe(error)) from None
