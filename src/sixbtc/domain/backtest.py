"""Value objects of a backtest: execution parameters, costs, the sweep grid and a run's result."""

from __future__ import annotations

import enum
import itertools
import math
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from sixbtc.domain.coin_figures import CoinFigures
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.sensitivity import Robustness
from sixbtc.domain.timeframe import Timeframe


class StopUnit(enum.StrEnum):
    """What an execution's stop loss and take profit are measured in."""

    PERCENT = "percent"  # fractions of the entry price
    ATR = "atr"  # multiples of the average true range at entry


def _stop_unit(value: str) -> StopUnit:
    try:
        return StopUnit(value)
    except ValueError:
        expected = ", ".join(unit.value for unit in StopUnit)
        raise ValueError(f"stop_unit: {value!r}; expected one of {expected}") from None


@attrs.frozen
class ExecutionParameters:
    """How signals are traded: stop loss and take profit, leverage, and the maximum holding time
    in bars (the entry bar counts as 1).

    With ``stop_unit`` PERCENT (the default) the stop and target are fractions of the entry price.
    With ATR they are multiples of the coin's average true range over the ``atr_period`` bars
    closed before the entry (Wilder's smoothing, seeded with the plain mean of the first
    ``atr_period`` true ranges): ``entry -/+ multiple * ATR``. The liquidation guard then can only
    be checked at entry: an entry whose stop would be at or beyond liquidation
    (``leverage * stop distance >= entry price``), or that comes before ``atr_period`` bars have
    closed or on a zero ATR, is not taken (the signal is ignored, as during indicator warm-up).
    """

    stop_loss: float
    take_profit: float
    leverage: float
    max_hold_bars: int
    stop_unit: StopUnit = attrs.field(default=StopUnit.PERCENT, converter=_stop_unit)
    atr_period: int = 14

    def __attrs_post_init__(self) -> None:
        for name in ("stop_loss", "take_profit", "leverage"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name}: {getattr(self, name)}; expected a number > 0")
        if self.max_hold_bars < 1:
            raise ValueError(f"max_hold_bars: {self.max_hold_bars}; expected an integer >= 1")
        if self.atr_period < 1:
            raise ValueError(f"atr_period: {self.atr_period}; expected an integer >= 1")
        if self.stop_unit is StopUnit.PERCENT and self.stop_loss * self.leverage >= 1.0:
            raise ValueError(
                f"stop_loss * leverage: {self.stop_loss} * {self.leverage} >= 1; the stop would be "
                "at or beyond liquidation"
            )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values; ``ExecutionParameters(**as_dict())`` gives it back."""
        return {**attrs.asdict(self), "stop_unit": self.stop_unit.value}


@attrs.frozen
class Costs:
    """Fees and slippage as fractions of notional, paid on entry and on exit."""

    fee: float = 0.00045
    slippage: float = 0.0005

    @property
    def per_side(self) -> float:
        """Fee plus slippage: the fraction of notional paid on entry and again on exit."""
        return self.fee + self.slippage

    def return_on_margin(
        self, direction: int, entry: float, exit_price: float, leverage: float
    ) -> float:
        """A trade's return on its margin, the spec's formula:
        ``leverage * (d * (x/e - 1) - (fee + slippage) * (1 + x/e))``."""
        ratio = exit_price / entry
        return leverage * (direction * (ratio - 1) - self.per_side * (1 + ratio))

    def __attrs_post_init__(self) -> None:
        for name in ("fee", "slippage"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}: {getattr(self, name)}; expected >= 0")


@attrs.frozen
class ParameterGrid:
    """The cartesian product of the candidate values (5 x 5 x 3 x 4 = 300 by default); every
    combination shares the grid's ``stop_unit`` and ``atr_period``."""

    stop_loss: tuple[float, ...] = (0.01, 0.02, 0.03, 0.05, 0.08)
    take_profit: tuple[float, ...] = (0.01, 0.02, 0.04, 0.06, 0.10)
    leverage: tuple[float, ...] = (1.0, 2.0, 3.0)
    max_hold_bars: tuple[int, ...] = (12, 24, 48, 96)
    stop_unit: StopUnit = attrs.field(default=StopUnit.PERCENT, converter=_stop_unit)
    atr_period: int = 14

    def combinations(self) -> list[ExecutionParameters]:
        """Every combination, in a fixed order (stop loss varies slowest)."""
        return [
            ExecutionParameters(sl, tp, lev, hold, self.stop_unit, self.atr_period)
            for sl, tp, lev, hold in itertools.product(
                self.stop_loss, self.take_profit, self.leverage, self.max_hold_bars
            )
        ]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """The candidate values' counts, in the order of :meth:`combinations`."""
        return (
            len(self.stop_loss),
            len(self.take_profit),
            len(self.leverage),
            len(self.max_hold_bars),
        )

    def __len__(self) -> int:
        return math.prod(self.shape)


class RunKind(enum.StrEnum):
    """Which backtest a result comes from: the initial search or a re-backtest (spec section 4)."""

    INITIAL = "initial"
    RETEST = "retest"


@attrs.frozen
class Window:
    """A half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    def __attrs_post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"window: start {self.start} must be before end {self.end}")


def windows_ending(
    now: datetime, timeframe: Timeframe, training_days: int, holdout_days: int
) -> tuple[Window, Window]:
    """Training and holdout windows ending at the last bar boundary of ``timeframe`` at or before
    ``now`` (UTC); the holdout is the most recent ``holdout_days``, training the days before."""
    step = timeframe.minutes * 60
    end = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
    split = end - timedelta(days=holdout_days)
    return Window(split - timedelta(days=training_days), split), Window(split, end)


@attrs.frozen
class BacktestResult:
    """One backtest of one strategy: the chosen timeframe and parameters, both windows' metrics,
    the resulting score, the equity curve and the per-coin figures. Stored for audit; the strategy
    keeps only its latest score."""

    strategy_id: uuid.UUID
    kind: RunKind
    run_at: datetime
    timeframe: Timeframe
    parameters: ExecutionParameters
    training_window: Window
    holdout_window: Window
    training: Metrics
    holdout: Metrics
    score: float
    id: uuid.UUID = attrs.field(factory=uuid.uuid4)
    #: The equity curve across both windows, downsampled: (bar open time in UTC ms, equity
    #: after it, 1.0 at the start); empty for results recorded without it.
    equity: tuple[tuple[int, float], ...] = attrs.field(default=(), converter=tuple)
    #: Each coin's figures in each window; empty for results recorded without them.
    coins: tuple[CoinFigures, ...] = attrs.field(default=(), converter=tuple)
    #: The chosen configuration's grid neighbourhood and trade bands; None for results recorded
    #: without them.
    robustness: Robustness | None = None


def best_index(scores: Sequence[float]) -> int:
    """Index of the highest score; the first one on ties (deterministic)."""
    if not scores:
        raise ValueError("scores: empty; expected at least one combination")
    return max(range(len(scores)), key=lambda i: (scores[i], -i))
