"""Backtest speed, measured in one run: our kernel and engine at 1 and 2 threads, our kernel
against vectorbt on the same markets and signals, and the pipeline's initial backtest (research
gates as configured) and re-backtests.

Run: ``.venv/bin/python bench/backtest.py [--quick]``; about 2.5 minutes on 2 cores, ``--quick``
(6 combinations instead of 30 against vectorbt, one timed run instead of the best of 3) about 2. Nothing here asserts: it prints figures, with the goals of the performance issue next to
them, and ratios computed from figures measured in the same run. Every timed figure is wall seconds
next to CPU seconds (every thread of this process, and its child processes: the sandbox's); the
load average is printed because other work on a shared machine slows wall time, 2 threads most.

Every engine sees the same shapes and signals: 30 synthetic coins x a year of 5m bars, with two
kinds of signals, ``random`` (sparse, independent +1 and -1 on 1% of the bars) and ``level`` (the
sign of a 12/48-bar moving average difference: runs of +1 or -1). It prints:

- our kernel alone and the engine's sweep (market layout included) over the configured grid of 300
  combinations, 1 thread then 2 (the same work): throughput and the parallel speed-up;
- vectorbt's ``Portfolio.from_signals`` on a grid of percent stops and targets (leverage 1, no
  holding limit: vectorbt has neither), configured to our rules (see :class:`VectorbtLayout` and
  :func:`vectorbt_portfolio`) without removing any signal: trade counts and returns against ours,
  and the speed ratio, single-threaded both; also on vectorbt's natural layout, whose remaining rule
  difference shows in the trade counts. Skipped, saying why, without the ``bench`` extra
  (``.venv/bin/pip install -e '.[dev,bench]'``);
- the initial backtest of one strategy (every timeframe and combination, then the research gates
  and the pool as in ``Config()``: how many permutations ran, the search's and the gates' seconds),
  and its re-backtests on the chosen timeframe and on 5m; first with a numpy signal function in
  process, then with a generated strategy in the sandbox.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import resource
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import attrs
import numba
import numpy as np

from sixbtc.adapters.clock import ManualClock
from sixbtc.adapters.engine import NumbaBacktestEngine, kernel
from sixbtc.adapters.engine.numba_engine import parameter_arrays, price_arrays
from sixbtc.adapters.engine.portfolio import Portfolio
from sixbtc.adapters.generator.sources import CatalogueStrategySource
from sixbtc.adapters.market.synthetic import SyntheticMarketData
from sixbtc.adapters.memory import InMemoryStore, InMemoryUnitOfWork
from sixbtc.adapters.sandbox import SandboxSignalSource
from sixbtc.application.backtest import Backtester, BacktestSettings
from sixbtc.application.pool import PoolRules
from sixbtc.application.ports import Market, SignalSource
from sixbtc.config import Config
from sixbtc.domain.backtest import Costs, ExecutionParameters
from sixbtc.domain.candles import Candles
from sixbtc.domain.robustness import PermutationTest, RobustnessPolicy
from sixbtc.domain.strategy import Status, Strategy
from sixbtc.domain.timeframe import Timeframe

NOW = datetime(2026, 6, 1, tzinfo=UTC)
COINS = 30
DAYS = 365
#: Share of bars with a random signal (half +1, half -1).
RANDOM_DENSITY = 0.01
#: Goals of the performance issue.
KERNEL_GOAL = 500e6  # bar-combinations per CPU-second, one thread
VECTORBT_GOAL = 100  # our kernel's speed over vectorbt's, one thread each
INITIAL_GOAL = 5.0  # seconds, the initial backtest of one strategy
RETEST_GOAL = 0.3  # seconds, the re-backtest on 5m


class Timing(NamedTuple):
    """Wall and CPU seconds of one measured piece of work."""

    wall: float
    cpu: float

    def __str__(self) -> str:
        return f"{self.wall:.2f} s wall, {self.cpu:.2f} s CPU"

    def __add__(self, other: object) -> Timing:
        if not isinstance(other, Timing):
            return NotImplemented
        return Timing(self.wall + other.wall, self.cpu + other.cpu)


def cpu_seconds() -> float:
    """CPU seconds of this process (every thread), of its children that ended, and of its live
    descendants with the children they reaped (read from /proc: the sandbox's workers and their
    strategy processes live through a backtest)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + ended.ru_utime + ended.ru_stime + live_descendants_cpu()


def live_descendants_cpu() -> float:
    """CPU seconds of the processes below this one that are still there (0 without /proc)."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:  # ended in between
                continue
            pid = int(entry)
            parents[pid] = int(fields[1])
            # utime, stime, and the same of the children it reaped (fields 14 to 17 of stat)
            ticks[pid] = sum(int(value) for value in fields[11:15])
    below = {os.getpid()}
    grew = True
    while grew:
        found = {pid for pid, parent in parents.items() if parent in below} - below
        below |= found
        grew = bool(found)
    below.discard(os.getpid())
    return sum(ticks[pid] for pid in below) / os.sysconf("SC_CLK_TCK")


def timed(work: Callable[[], Any]) -> tuple[Any, Timing]:
    """``work()``'s result and its wall and CPU seconds (children included)."""
    began, cpu_began = time.perf_counter(), cpu_seconds()
    result = work()
    return result, Timing(time.perf_counter() - began, cpu_seconds() - cpu_began)


def in_process(work: Callable[[], Any]) -> tuple[Any, Timing]:
    """Like :func:`timed` for work without child processes (cheaper clocks, finer CPU time)."""
    began, cpu_began = time.perf_counter(), time.process_time()
    result = work()
    return result, Timing(time.perf_counter() - began, time.process_time() - cpu_began)


def load() -> str:
    """The machine's load (other work on a shared machine slows wall time, 2 threads most)."""
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def rate(amount: float, seconds: float) -> str:
    return f"{amount / seconds / 1e6:,.0f} M" if seconds > 0 else "n/a"


def ratio(numerator: float, denominator: float) -> str:
    if not denominator > 0:
        return "n/a"
    value = numerator / denominator
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}"


@contextlib.contextmanager
def numba_threads(count: int) -> Iterator[None]:
    previous = numba.get_num_threads()
    numba.set_num_threads(count)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


# ---- signals: the same two kinds for every engine


def moving_average_cross(candles: Candles, fast: int = 12, slow: int = 48) -> np.ndarray:
    """+1 while the fast mean of closes is above the slow one, -1 below, NaN while warming up."""
    sums = np.cumsum(np.r_[0.0, candles.close])

    def mean(window: int) -> np.ndarray:
        out = np.full(len(candles), np.nan)
        out[window - 1 :] = (sums[window:] - sums[:-window]) / window
        return out

    return np.sign(mean(fast) - mean(slow))


def random_signals(length: int, rng: np.random.Generator) -> np.ndarray:
    """+1 on a share RANDOM_DENSITY / 2 of the bars, -1 on as many, 0 elsewhere."""
    draw = rng.random(length)
    return np.where(
        draw < RANDOM_DENSITY / 2, 1.0, np.where(draw >= 1 - RANDOM_DENSITY / 2, -1.0, 0.0)
    )


def signal_kinds(data: SyntheticMarketData) -> dict[str, list[Market]]:
    """The 30 coins' year of 5m candles with each kind of signal."""
    start = NOW - timedelta(days=DAYS)
    candles = [data.candles(symbol, Timeframe.M5, start, NOW) for symbol in data.symbols()[:COINS]]
    rng = np.random.default_rng(0)
    return {
        "random": [Market(c, random_signals(len(c), rng)) for c in candles],
        "level": [Market(c, moving_average_cross(c)) for c in candles],
    }


def describe(kind: str, markets: Sequence[Market]) -> str:
    signals = np.concatenate([np.nan_to_num(m.signals) for m in markets])
    flips = sum(int(np.count_nonzero(np.diff(np.nan_to_num(m.signals)) != 0)) for m in markets)
    return (
        f"{kind}: {np.count_nonzero(signals > 0) / signals.size:.1%} of bars +1, "
        f"{np.count_nonzero(signals < 0) / signals.size:.1%} -1, "
        f"{flips / len(markets):,.0f} changes of value per coin"
    )


# ---- our kernel and engine, 1 and 2 threads


class Sweep(NamedTuple):
    """Our sweep of ``combinations`` over ``markets``."""

    markets: list[Market]
    combinations: list[ExecutionParameters]
    costs: Costs

    @property
    def bar_combinations(self) -> int:
        return sum(len(m.candles) for m in self.markets) * len(self.combinations)

    def kernel(self, threads: int) -> Callable[[], object]:
        """The kernel alone (markets laid out beforehand) at ``threads`` threads, one chunk each."""
        portfolio = Portfolio.of(self.markets)
        arguments = (*price_arrays(portfolio), *parameter_arrays(portfolio, self.combinations))
        cost, bars_per_year = self.costs.per_side, portfolio.timeframe.bars_per_year

        def run() -> object:
            with numba_threads(threads):
                return kernel.sweep(*arguments, cost, bars_per_year, threads)

        return run

    def engine(self, workers: int) -> Callable[[], object]:
        """The engine's sweep (the markets' layout included) with ``workers`` threads."""
        engine = NumbaBacktestEngine(workers=workers)

        def run() -> object:
            with numba_threads(numba.get_num_threads()):  # the engine sets its own count
                return engine.sweep(self.markets, self.combinations, self.costs)

        return run


def best_alternating(works: Sequence[Callable[[], object]], repeats: int) -> list[Timing]:
    """Each work's run with the least wall time of ``repeats``, the works taking turns (so that
    other load on the machine falls on all of them alike), after one untimed run each (compiling
    or loading numba's cache)."""
    for work in works:
        work()
    best = [Timing(math.inf, math.inf)] * len(works)
    for _ in range(repeats):
        for index, work in enumerate(works):
            timing = in_process(work)[1]
            if timing.wall < best[index].wall:
                best[index] = timing
    return best


def kernel_throughput(kinds: dict[str, list[Market]], config: Config, repeats: int) -> None:
    combinations = config.parameter_grid().combinations()
    threads = (1, 2) if numba.config.NUMBA_NUM_THREADS >= 2 else (1,)
    if len(threads) == 1:
        print(f"  only {numba.config.NUMBA_NUM_THREADS} numba thread here: no 2-thread figures")
    for kind, markets in kinds.items():
        sweep = Sweep(markets, combinations, config.costs())
        work = sweep.bar_combinations
        print(
            f"  {kind} signals, {len(markets)} coins x {len(markets[0].candles):,} 5m bars x "
            f"{len(combinations)} combinations of the configured grid:"
        )
        for label, build in (("kernel alone", sweep.kernel), ("engine sweep", sweep.engine)):
            timings = best_alternating([build(count) for count in threads], repeats)
            one = timings[0]
            goal = f" (goal >= {KERNEL_GOAL / 1e6:,.0f} M)" if label == "kernel alone" else ""
            print(
                f"    {label}, 1 thread: {one} = {rate(work, one.cpu)} bar-combinations per "
                f"CPU-second{goal}"
            )
            if len(timings) == 2:
                two = timings[1]
                print(
                    f"    {label}, 2 threads: {two} = {rate(work, two.wall)} bar-combinations per "
                    f"wall-second; speed-up over 1 thread {ratio(one.wall, two.wall)}x by wall "
                    f"time, CPU time {ratio(two.cpu, one.cpu)}x"
                )


# ---- vectorbt on the same markets and signals, configured to our rules


def compared_grid(quick: bool) -> list[ExecutionParameters]:
    """Percent stop and target only, leverage 1, no maximum holding time: the part of our
    parameters vectorbt's ``from_signals`` has (it has neither leverage nor a holding limit)."""
    stops, targets = (
        ((0.01, 0.03), (0.01, 0.04, 0.10))
        if quick
        else ((0.005, 0.01, 0.02, 0.04, 0.08), (0.005, 0.01, 0.02, 0.04, 0.06, 0.10))
    )
    return [
        ExecutionParameters(float(sl), float(tp), leverage=1.0, max_hold_bars=10**9)
        for sl in stops
        for tp in targets
    ]


@attrs.frozen
class VectorbtLayout:
    """Our markets as vectorbt arrays, ``(rows, coins)``.

    ``split`` (the one that follows our rules): two rows per bar. The first is the bar's open only
    (open = high = low = close = our open), and carries the signal of the bar before, the one our
    rules act on at this open; the second is the whole bar (our open, high, low and close) and has
    no signal. vectorbt checks a position's stops before the signals of a row and takes one order
    per row, so at the open row: a gap beyond the stop or target fills at the open and the signal
    is dropped, else an opposite signal closes at the open (``upon_opposite_entry="close"``) and a
    signal while flat enters at the open; its stops then start on the bar row, as ours are checked
    within the entry bar.

    ``natural``: one row per bar, as a vectorbt user would lay them out: each bar carries its own
    signal, ordered at the next bar's open (``price``), stops checked from the next bar on. A stop
    or target filling in a signal's bar then drops the signal (one order per row) where our rules
    act on it at the next open; and a bar that opens beyond the target and then reaches the stop
    fills the stop, where ours takes the target at the open.
    """

    close: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    price: np.ndarray | None
    entries: np.ndarray
    short_entries: np.ndarray

    @classmethod
    def split(cls, portfolio: Portfolio) -> VectorbtLayout:
        bars, coins = portfolio.open.shape
        rows = {name: np.empty((2 * bars, coins)) for name in ("open", "high", "low", "close")}
        for name, grid in rows.items():
            grid[0::2] = portfolio.open
            grid[1::2] = getattr(portfolio, name)
        entries = np.zeros((2 * bars, coins), dtype=bool)
        short_entries = np.zeros((2 * bars, coins), dtype=bool)
        entries[0::2] = portfolio.prev_signal > 0
        short_entries[0::2] = portfolio.prev_signal < 0
        return cls(price=None, entries=entries, short_entries=short_entries, **rows)

    @classmethod
    def natural(cls, portfolio: Portfolio) -> VectorbtLayout:
        coins = portfolio.open.shape[1]
        # each bar's own signal is the next bar's prev_signal; the last bar's opens nothing
        signal = np.vstack([portfolio.prev_signal[1:], np.zeros((1, coins), dtype=np.int8)])
        next_open = np.vstack([portfolio.open[1:], np.full((1, coins), np.nan)])
        return cls(
            close=portfolio.close,
            open=portfolio.open,
            high=portfolio.high,
            low=portfolio.low,
            price=next_open,
            entries=signal > 0,
            short_entries=signal < 0,
        )

    def head(self, rows: int) -> VectorbtLayout:
        return VectorbtLayout(
            **{
                name: None if value is None else value[:rows]
                for name, value in attrs.asdict(self, recurse=False).items()
            }
        )


def vectorbt_portfolio(
    vbt: Any, layout: VectorbtLayout, parameters: ExecutionParameters, costs: Costs
) -> Any:
    """One combination through ``vbt.Portfolio.from_signals``, configured to our rules: long and
    short entries from the signals, an opposite signal closing without reversing
    (``upon_opposite_entry="close"``; an explicit exit signal would do the same), the whole
    equity of each coin in every trade (``size=inf``: each coin compounds alone, ours too), stop
    and target set from the entry order's price before slippage (``stop_entry_price="price"``),
    the stop checked before the target, and slippage charged on stop fills too
    (``stop_exit_price="stopmarket"``). The initial cash is huge because vectorbt treats cash below
    1e-12 as none: a coin whose equity falls by 14 orders of magnitude (tight stops on level
    signals with costs) would stop trading there, ours does not."""
    return vbt.Portfolio.from_signals(
        layout.close,
        entries=layout.entries,
        short_entries=layout.short_entries,
        price=layout.price,
        open=layout.open,
        high=layout.high,
        low=layout.low,
        size=np.inf,
        init_cash=1e200,
        sl_stop=parameters.stop_loss,
        tp_stop=parameters.take_profit,
        stop_entry_price="price",
        stop_exit_price="stopmarket",
        upon_opposite_entry="close",
        fees=costs.fee,
        slippage=costs.slippage,
    )


def vectorbt_figures(
    vbt: Any, layout: VectorbtLayout, parameters: ExecutionParameters, costs: Costs
) -> tuple[int, float]:
    """Trades (an open position at the end counts as one: ours closes it at the last close) and
    the coins' mean total return, as our portfolio's total return."""
    result = vectorbt_portfolio(vbt, layout, parameters, costs)
    return int(result.trades.count().sum()), float(result.total_return().mean())


def vectorbt_comparison(kinds: dict[str, list[Market]], quick: bool, repeats: int) -> None:
    try:
        import vectorbt as vbt
    except ImportError as error:
        print(
            f"  skipped: vectorbt cannot be imported ({error}); install the bench extra: "
            ".venv/bin/pip install -e '.[dev,bench]'"
        )
        return
    warnings.filterwarnings("ignore", module="vectorbt")
    costs = Config().costs()
    combinations = compared_grid(quick)
    rust = getattr(getattr(vbt, "_engine", None), "is_rust_available", lambda: False)()
    print(
        f"  vectorbt {vbt.__version__} ({'Rust' if rust else 'numba'} engine), one combination "
        f"per call (all {len(combinations)} at once would be {len(combinations)} x {COINS} "
        f"columns of every array); {len(combinations)} combinations: stop "
        f"{sorted({p.stop_loss for p in combinations})} x target "
        f"{sorted({p.take_profit for p in combinations})}, leverage 1, no holding limit; "
        f"fee {costs.fee}, slippage {costs.slippage}"
    )
    for kind, markets in kinds.items():
        portfolio = Portfolio.of(markets)
        work = Sweep(markets, combinations, costs)
        bars = portfolio.open.shape[0] * portfolio.open.shape[1] * len(combinations)
        ours = NumbaBacktestEngine(workers=1).sweep(markets, combinations, costs)
        kernel_time, engine_time = best_alternating([work.kernel(1), work.engine(1)], repeats)
        print(
            f"  {kind} signals, {len(markets)} coins x {portfolio.open.shape[0]:,} 5m bars x "
            f"{len(combinations)} combinations; ours: kernel alone {kernel_time}, engine sweep "
            f"{engine_time} (1 thread, best of {repeats}); {sum(m.trades for m in ours):,} trades"
        )
        for name, layout in (
            ("split rows (our rules)", VectorbtLayout.split(portfolio)),
            ("natural rows", VectorbtLayout.natural(portfolio)),
        ):
            vectorbt_figures(vbt, layout.head(600), combinations[0], costs)  # compile, not timed
            spent = Timing(0.0, 0.0)
            theirs = []
            for parameters in combinations:
                figures, timing = in_process(
                    lambda p=parameters, lay=layout: vectorbt_figures(vbt, lay, p, costs)
                )
                theirs.append(figures)
                spent += timing
            same = sum(m.trades == t for m, (t, _) in zip(ours, theirs, strict=True))
            ours_trades = sum(m.trades for m in ours)
            their_trades = sum(t for t, _ in theirs)
            worst = max(
                abs(t - m.trades) / max(m.trades, 1) for m, (t, _) in zip(ours, theirs, strict=True)
            )
            gap = max(abs(r - m.total_return) for m, (_, r) in zip(ours, theirs, strict=True))
            print(
                f"    vectorbt, {name}, {layout.open.shape[0]:,} rows: {spent} for all "
                f"{len(combinations)} calls (from_signals, trade count, total return)"
            )
            print(
                f"      trade counts identical for {same} of {len(combinations)} combinations; "
                f"trades in all ours {ours_trades:,}, vectorbt {their_trades:,} "
                f"({(their_trades - ours_trades) / ours_trades:+.2%}; worst combination "
                f"{worst:.2%}); largest gap in mean total return {gap:.4f} (costs modelled "
                "differently, see below)"
            )
            print(
                f"      speed in bar-combinations (our bars) per CPU-second: vectorbt "
                f"{rate(bars, spent.cpu)}; our kernel {rate(bars, kernel_time.cpu)} = "
                f"{ratio(spent.cpu, kernel_time.cpu)}x vectorbt (goal >= {VECTORBT_GOAL}x; by "
                f"wall time {ratio(spent.wall, kernel_time.wall)}x); our engine's sweep, layout "
                f"included, {rate(bars, engine_time.cpu)} = {ratio(spent.cpu, engine_time.cpu)}x "
                f"(by wall time {ratio(spent.wall, engine_time.wall)}x)"
            )
        split = VectorbtLayout.split(portfolio)
        free = Costs(fee=0.0, slippage=0.0)
        for parameters in (combinations[0], combinations[len(combinations) // 2], combinations[-1]):
            (mine,) = NumbaBacktestEngine(workers=1).sweep(markets, [parameters], free)
            _, theirs_free = vectorbt_figures(vbt, split, parameters, free)
            print(
                f"    without costs, sl {parameters.stop_loss} tp {parameters.take_profit}: mean "
                f"total return ours {mine.total_return:+.10f}, vectorbt split rows "
                f"{theirs_free:+.10f}"
            )
    print(
        "  with costs, returns differ by the cost model only: vectorbt moves each fill price by the "
        "slippage and charges fees on the moved notional, and values a position open at the end "
        "at the last close without exit costs; ours subtracts (fee + slippage) x notional on both "
        "sides from the return on margin and closes at the last close"
    )


# ---- the initial backtest with the gates as configured, and the re-backtests


class NumpySignalSource:
    """The bench's stand-in for the sandboxed runner: every code is the moving-average cross."""

    def signals(self, code: str, candles: Candles) -> np.ndarray:
        return moving_average_cross(candles)


@attrs.frozen
class RecordingPolicy(RobustnessPolicy):
    """The configured gates, keeping each permutation test they run (to report its count)."""

    tests: list[PermutationTest] = attrs.field(factory=list, eq=False, repr=False)

    def permutation_test(self, real: float) -> PermutationTest:
        test = super().permutation_test(real)
        self.tests.append(test)
        return test


def pipeline(config: Config, data: SyntheticMarketData) -> None:
    """The initial backtest and the re-backtests, first with an in-process numpy signal function,
    then with a generated strategy whose signals come from the sandbox (the pipeline's real path:
    one signal request per coin and timeframe to confined processes)."""
    generated = CatalogueStrategySource(seed=0).propose(1)[0]
    sandbox = SandboxSignalSource()
    try:
        _, warm = timed(
            lambda: sandbox.signals(
                generated.code, data.candles("C00", Timeframe.D1, NOW - timedelta(days=90), NOW)
            )
        )
        print(f"  sandbox started and warmed on one request (not counted below): {warm}")
        for label, source, code in (
            ("numpy moving-average cross, in process", NumpySignalSource(), "ma_cross"),
            (f"generated {generated.name}, sandboxed", sandbox, generated.code),
        ):
            print(f"  -- {label}")
            backtest_and_retest(config, data, source, code)
    finally:
        sandbox.close()


def backtest_and_retest(
    config: Config, data: SyntheticMarketData, source: SignalSource, code: str
) -> None:
    store = InMemoryStore()
    clock = ManualClock(NOW)
    policy = RecordingPolicy(**attrs.asdict(config.robustness_policy(), recurse=False))
    settings = BacktestSettings(  # as the container builds them, on our 30 synthetic coins
        timeframes=tuple(config.timeframes()),
        grid=config.parameter_grid(),
        costs=config.costs(),
        scoring=config.scoring_policy(),
        pool=PoolRules(config.active_pool.max_size, config.active_pool.min_score_entry),
        training_days=config.backtester.training_days,
        holdout_days=config.backtester.holdout_days,
        coins=COINS,
        signal_concurrency=config.sandbox.workers or os.cpu_count() or 1,
        robustness=policy,
    )
    backtester = Backtester(
        InMemoryUnitOfWork(store),
        data,
        source,
        NumbaBacktestEngine(config.backtester.workers),
        clock,
        settings,
    )
    new = Strategy(name="bench", code=code, strategy_type="TRN", created_at=NOW)
    new.status = Status.VALIDATED
    with InMemoryUnitOfWork(store) as uow:
        uow.strategies.add(new)
        uow.commit()
    result, elapsed = timed(lambda: backtester.initial(new.id))
    print(
        f"  initial backtest: {len(settings.timeframes)} timeframes x {COINS} coins x "
        f"{len(settings.grid)} combinations x {settings.training_days + settings.holdout_days} "
        f"days: {elapsed} (goal <= {INITIAL_GOAL:g} s wall)"
    )
    if result is None:
        print("    the strategy failed (backtest error): nothing more to time")
        return
    with InMemoryUnitOfWork(store) as uow:
        decided = uow.strategies.get(new.id)
    entry = settings.pool.min_score_entry
    if policy.tests:
        gates = "; ".join(
            f"{test.done} permutations ran of {test.planned} planned, {test}"
            for test in policy.tests
        )
    elif result.score >= entry:
        gates = "asked, failed before the permutation test: 0 permutations ran"
    else:
        gates = f"not asked (score below the pool's entry {entry:g}): 0 permutations ran"
    print(
        f"    chose {result.timeframe} {result.parameters.as_dict()}, score {result.score:.1f}, "
        f"now {decided.status.value}; search {backtester.spent['search']:.2f} s, gates "
        f"{backtester.spent['gates']:.2f} s wall; gates {gates}"
    )
    # The re-backtest on the chosen timeframe, and on 5m (the slowest) whatever was chosen.
    for timeframe in (result.timeframe, Timeframe.M5):
        member = Strategy(
            name=f"retest_{timeframe}",
            code=f"{code}\n# retest {timeframe}\n",
            strategy_type="TRN",
            created_at=NOW,
            timeframe=timeframe,
            execution=result.parameters,
            coins=decided.coins,
            score_backtest=50.0,
            last_backtested_at=NOW,
        )
        member.status = Status.ACTIVE
        with InMemoryUnitOfWork(store) as uow:
            uow.strategies.add(member)
            uow.commit()
        clock.advance(timedelta(days=3))
        _, elapsed = timed(lambda m=member: backtester.retest(m.id))
        goal = f" (goal <= {RETEST_GOAL:g} s wall)" if timeframe is Timeframe.M5 else ""
        print(f"  re-backtest on {timeframe}: {elapsed}{goal}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=" ".join(__doc__.split("\n\n")[0].split()))
    parser.add_argument(
        "--quick", action="store_true", help="6 combinations against vectorbt, no repeats"
    )
    options = parser.parse_args(argv)
    repeats = 1 if options.quick else 3
    config = Config()
    began = time.perf_counter(), cpu_seconds()
    print(
        f"cores {os.cpu_count()}, numba threads {numba.config.NUMBA_NUM_THREADS}, workers setting "
        f"{config.backtester.workers}; timings below are the best of {repeats} run(s) unless said; "
        f"{load()}"
    )
    (data, kinds), spent = timed(lambda: synthetic_markets())
    print(f"synthetic candles, {COINS} coins x 6 timeframes (not timed below): {spent}")
    for kind, markets in kinds.items():
        print(f"  {describe(kind, markets)}")
    print(f"our kernel and engine, 1 thread against 2 ({load()}):")
    kernel_throughput(kinds, config, repeats)
    print("our kernel against vectorbt, same markets and signals, 1 thread each:")
    vectorbt_comparison(kinds, options.quick, repeats)
    print("the pipeline's backtests, gates and pool as configured:")
    pipeline(config, data)
    total = Timing(time.perf_counter() - began[0], cpu_seconds() - began[1])
    print(f"whole run: {total}; {load()}")


def synthetic_markets() -> tuple[SyntheticMarketData, dict[str, list[Market]]]:
    """The candles of every coin and timeframe, made once (they are cached), and the 5m markets
    with each kind of signal."""
    data = SyntheticMarketData(
        end=NOW + timedelta(days=10), days=410, coins=[f"C{i:02d}" for i in range(COINS)]
    )
    for symbol in data.symbols():
        for timeframe in Timeframe:
            data.candles(symbol, timeframe, NOW - timedelta(days=400), NOW)
    return data, signal_kinds(data)


if __name__ == "__main__":
    main()
