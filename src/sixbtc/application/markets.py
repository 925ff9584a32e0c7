"""A strategy's markets for a backtest: candles of every coin for one timeframe and two windows,
the strategy's signals on them (computed once, through the sandboxed signal source), and
simulations on them.

A failure of the strategy's own code raises :class:`StrategyCodeFailed` (it retires the strategy);
anything else (market data, the sandbox, the engine) is ours and propagates unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import attrs
import numpy as np

from sixbtc.application.errors import MarketDataUnavailable, StrategyFailed
from sixbtc.application.ports import BacktestEngine, Market, MarketData, SignalSource
from sixbtc.domain.backtest import Costs, ExecutionParameters, Window, best_index
from sixbtc.domain.candles import Candles, from_ms, to_ms
from sixbtc.domain.coin_figures import CoinFigures, coin_figures
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.simulation import SimulationRun
from sixbtc.domain.timeframe import Timeframe

#: How far before the holdout's end the history may stop (a late candle, an exchange's pause)
#: before the holdout is refused as partly missing.
HISTORY_SLACK = timedelta(days=1)


class StrategyCodeFailed(Exception):
    """The strategy cannot be backtested (its code failed, or its stored timeframe or parameters
    are unusable); the message becomes the retirement reason's figures."""


@attrs.frozen
class Evaluation:
    """One timeframe's markets split into the two windows."""

    timeframe: Timeframe
    training_window: Window
    holdout_window: Window
    training: list[Market]
    holdout: list[Market]

    def coin_figures(self, training: SimulationRun, holdout: SimulationRun) -> list[CoinFigures]:
        """Each coin's figures from the runs of both windows, training first."""
        symbols = [market.candles.symbol for market in self.training]
        return coin_figures("training", training.trades, symbols) + coin_figures(
            "holdout", holdout.trades, symbols
        )


@attrs.frozen
class GridSearch:
    """Every combination tried on every timeframe's training window: the evaluations, each
    combination's training metrics and score by evaluation, and the chosen pair (the best
    training score; the first on ties)."""

    evaluations: list[Evaluation]
    combinations: list[ExecutionParameters]
    metrics: list[list[Metrics]]
    scores: list[list[float]]
    chosen_evaluation: int
    chosen_combination: int

    @property
    def evaluation(self) -> Evaluation:
        return self.evaluations[self.chosen_evaluation]

    @property
    def parameters(self) -> ExecutionParameters:
        return self.combinations[self.chosen_combination]

    @property
    def training(self) -> Metrics:
        return self.metrics[self.chosen_evaluation][self.chosen_combination]

    @property
    def score(self) -> float:
        return self.scores[self.chosen_evaluation][self.chosen_combination]


@attrs.frozen
class StrategyMarkets:
    """Candles, signals and simulations for the backtests of one worker; ``concurrency`` signal
    requests in flight at once (the sandbox's worker count)."""

    market_data: MarketData
    signal_source: SignalSource
    engine: BacktestEngine
    costs: Costs
    concurrency: int = 1

    def symbols(self, coins: int) -> list[str]:
        """The first ``coins`` symbols the market data serves."""
        symbols = self.market_data.symbols()[:coins]
        if not symbols:
            raise MarketDataUnavailable("market data serves no symbol")
        return symbols

    def evaluation(
        self,
        code: str,
        symbols: Sequence[str],
        timeframe: Timeframe,
        windows: tuple[Window, Window],
    ) -> Evaluation:
        """Candles of both windows for every coin, the strategy's signals computed once on them."""
        training_window, holdout_window = windows
        split_ms = to_ms(holdout_window.start)
        everything = [
            self.market_data.candles(symbol, timeframe, training_window.start, holdout_window.end)
            for symbol in symbols
        ]
        signals = self.signals(code, everything, timeframe)
        training, holdout = [], []
        for candles, coin_signals in zip(everything, signals, strict=True):
            split = int(np.searchsorted(candles.time, split_ms))
            training.append(Market(candles.slice(0, split), coin_signals[:split]))
            holdout.append(Market(candles.slice(split, len(candles)), coin_signals[split:]))
        for name, window, markets in (
            ("training", training_window, training),
            ("holdout", holdout_window, holdout),
        ):
            if not any(len(m.candles) for m in markets):
                raise MarketDataUnavailable(
                    f"no {timeframe} candles for any coin in the {name} window "
                    f"{window.start} .. {window.end} (history that ends earlier: set "
                    "backtester.window_end)"
                )
        last = max(int(m.candles.time[-1]) for m in holdout if len(m.candles))
        ends = from_ms(last) + timeframe.duration
        if holdout_window.end - ends > HISTORY_SLACK:
            raise MarketDataUnavailable(
                f"the {timeframe} history ends at {ends}, {holdout_window.end - ends} before the "
                f"holdout's end {holdout_window.end}: the holdout would be scored on part of its "
                "days (history that ends earlier: set backtester.window_end)"
            )
        return Evaluation(timeframe, training_window, holdout_window, training, holdout)

    def signals(
        self, code: str, candles: Sequence[Candles], timeframe: Timeframe
    ) -> list[np.ndarray]:
        """The strategy's signals on each of ``candles``, ``concurrency`` requests at once."""

        def signals_of(bars: Candles) -> np.ndarray:
            try:
                return np.asarray(self.signal_source.signals(code, bars))
            except StrategyFailed as error:  # the untrusted code failed: not ours
                raise StrategyCodeFailed(
                    f"strategy code on {bars.symbol} {timeframe}: {type(error).__name__}: {error}"
                ) from error

        with ThreadPoolExecutor(max(1, self.concurrency)) as pool:
            return list(pool.map(signals_of, candles))

    def simulate(
        self, markets: list[Market], combinations: Sequence[ExecutionParameters]
    ) -> list[Metrics]:
        """Metrics of every combination on ``markets`` (an engine failure is ours: it propagates)."""
        return self.engine.sweep(markets, combinations, self.costs)

    def run(self, markets: list[Market], parameters: ExecutionParameters) -> SimulationRun:
        """One combination on ``markets`` with its trades and equity curve."""
        return self.engine.run(markets, parameters, self.costs)

    def search(
        self,
        code: str,
        symbols: Sequence[str],
        windows: Sequence[tuple[Timeframe, tuple[Window, Window]]],
        combinations: Sequence[ExecutionParameters],
        training_score: Callable[[Metrics, Timeframe], float],
        stage: Callable[[str], object] = lambda line: None,
    ) -> GridSearch:
        """Every combination on the training window of each (timeframe, windows), scored by
        ``training_score``; the best is chosen (``stage`` hears of each timeframe)."""
        evaluations, metrics, scores = [], [], []
        for number, (timeframe, pair) in enumerate(windows, start=1):
            stage(
                f"[{number}/{len(windows)}] {timeframe}: candles and signals of {len(symbols)} "
                f"coins, then {len(combinations)} combinations"
            )
            evaluation = self.evaluation(code, symbols, timeframe, pair)
            found = self.simulate(evaluation.training, combinations)
            evaluations.append(evaluation)
            metrics.append(found)
            scores.append([training_score(m, timeframe) for m in found])
        flat = [score for row in scores for score in row]
        best = best_index(flat)
        return GridSearch(
            evaluations, list(combinations), metrics, scores, *divmod(best, len(combinations))
        )

    def both_windows(
        self, evaluation: Evaluation, parameters: ExecutionParameters
    ) -> tuple[SimulationRun, SimulationRun]:
        """The training and holdout runs of ``parameters`` with their trades and equity."""
        return self.run(evaluation.training, parameters), self.run(evaluation.holdout, parameters)
