"""The validator: GENERATED strategies become VALIDATED, or RETIRED with the failing check's reason.

Checks, in order (spec section 1 and 12; issues 11 and 20): syntax, safety and static lookahead
(by the :class:`~sixbtc.application.ports.CodeInspector`), then on synthetic candles through the
sandboxed :class:`~sixbtc.application.ports.SignalSource`: execution (one finite -1/0/+1 per bar,
within the time and memory limits), the shuffle test (signals up to bar T do not change when the
bars after T are removed, replaced by a random walk or shuffled), the warm-up test (the signals of
the second half of a live-length history do not depend on what came before it: nothing, or a
history falling or rising into it from far away) and execution again at production length (the
most bars a backtest asks for at once), so that code too slow for a backtest is refused here.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import uuid

import attrs
import numpy as np

from sixbtc.application.claims import ClaimKeeper
from sixbtc.application.errors import InvalidStrategyCode, StrategyFailed, StrategyTimeout
from sixbtc.application.ports import Clock, CodeInspector, SignalSource, UnitOfWork
from sixbtc.domain.candles import Candles
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe

log = logging.getLogger(__name__)

SERVICE = "validator"


#: Random walks end at an hour drawn from the five years after this one (UTC, in hours), so that
#: their times look like a market's and do not tell code that it is being validated.
_FIRST_END_HOUR = 446_256  # 2020-11-28 00:00 UTC
_END_HOURS = 5 * 365 * 24


def random_walk(bars: int, seed: int, start_price: float = 100.0) -> Candles:
    """Hourly candles of a geometric random walk (1% bar volatility), reproducible from ``seed``,
    ending at an hour of the last five years that the seed also picks."""
    rng = np.random.default_rng(seed)
    end_hour = _FIRST_END_HOUR + int(rng.integers(_END_HOURS))
    close = start_price * np.exp(np.cumsum(rng.normal(0.0, 0.01, bars)))
    open_ = np.concatenate([[start_price], close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.004, (2, bars))) * close
    return Candles(
        "SYNTHETIC",
        Timeframe.H1,
        (end_hour - bars + np.arange(bars, dtype=np.int64)) * 3_600_000,
        open_,
        np.maximum(open_, close) + wick[0],
        np.minimum(open_, close) - wick[1],
        close,
        rng.lognormal(3.0, 0.5, bars),
    )


def _concatenate(head: Candles, tail_close: np.ndarray, tail_volume: np.ndarray) -> Candles:
    """``head`` followed by bars whose closes are ``tail_close`` (opens at the previous close)."""
    close = np.concatenate([head.close, tail_close])
    open_ = np.concatenate([head.open, np.concatenate([head.close[-1:], tail_close[:-1]])])
    high = np.concatenate([head.high, np.maximum(open_[len(head) :], tail_close) * 1.002])
    low = np.concatenate([head.low, np.minimum(open_[len(head) :], tail_close) * 0.998])
    step = int(head.time[1] - head.time[0])
    time = head.time[0] + np.arange(len(close), dtype=np.int64) * step
    return Candles(
        head.symbol,
        head.timeframe,
        time,
        open_,
        high,
        low,
        close,
        np.concatenate([head.volume, tail_volume]),
    )


def _preceded(window: Candles, bars: int, start_price: float, seed: int) -> Candles:
    """``window`` after ``bars`` bars of a random walk from ``start_price`` into its first open."""
    walk = random_walk(bars, seed)
    ends = np.log([start_price / walk.close[0], window.open[0] / walk.close[-1]])
    scale = np.exp(np.linspace(*ends, bars))
    step = int(window.time[1] - window.time[0])
    return Candles(
        window.symbol,
        window.timeframe,
        np.concatenate([window.time[0] + np.arange(-bars, 0, dtype=np.int64) * step, window.time]),
        *(
            np.concatenate([getattr(walk, name) * scale, getattr(window, name)])
            for name in ("open", "high", "low", "close")
        ),
        np.concatenate([walk.volume, window.volume]),
    )


@functools.lru_cache(maxsize=2)
def _long_walk(bars: int) -> Candles:
    """One random walk per length, made once (a production-length one takes about 10 ms)."""
    return random_walk(bars, 0)


#: Bars of 5m in 365 training plus 30 holdout days: the backtester's default longest request.
PRODUCTION_BARS = 395 * 288
#: How far (in log price, a factor of about 20) above the live history's highest price, or below its
#: lowest, the warm-up test's made-up histories start.
_FAR = 3.0


@attrs.frozen
class ValidationSettings:
    """How hard the dynamic checks look. ``live_history_bars`` is ``validator.live_history_bars``
    (the bars live trading shows a strategy); ``production_bars`` the most bars the backtester
    shows it at once (training plus holdout days of the shortest timeframe), the length of the
    execution check that catches code too slow for a backtest."""

    live_history_bars: int = 5000
    production_bars: int = PRODUCTION_BARS
    history_bars: int = 2000
    shuffle_points: int = 20


@attrs.frozen
class StrategyChecker:
    """Runs every check on one piece of code; :meth:`reason` is None when all pass."""

    inspector: CodeInspector
    signal_source: SignalSource
    settings: ValidationSettings = ValidationSettings()

    def reason(self, code: str) -> Reason | None:
        """The retirement reason of the first failing check, or None."""
        problem = self.inspector.problem(code)
        if problem:
            return problem
        try:
            warmup = self.inspector.outline(code).warmup
            return self._dynamic(code, warmup)
        except InvalidStrategyCode as refused:
            return refused.reason
        except StrategyTimeout:
            return Reason(Code.TIMEOUT)
        except StrategyFailed as failure:
            return Reason(Code.RUNTIME_ERROR, str(failure))

    def _dynamic(self, code: str, warmup: int) -> Reason | None:
        s = self.settings
        if warmup >= s.live_history_bars:
            return Reason(
                Code.WARMUP_DEPENDENT,
                f"warm-up of {warmup} bars leaves no signal within "
                f"validator.live_history_bars ({s.live_history_bars})",
            )
        seed = int.from_bytes(hashlib.sha256(code.encode()).digest()[:4], "big")
        candles = random_walk(max(s.history_bars, warmup + s.history_bars // 2), seed)
        full = self.signal_source.signals(code, candles, fresh=True)
        return (
            self._shuffle(code, candles, full, warmup, seed)
            or self._warmup(code, warmup, seed)
            or self._production_length(code)
        )

    def _shuffle(
        self, code: str, candles: Candles, full: np.ndarray, warmup: int, seed: int
    ) -> Reason | None:
        """Signals up to each sampled bar T against those computed with the bars after T removed,
        replaced by a random walk, or by the real returns shuffled.

        Each group of compared requests starts in a fresh process and goes in increasing T, so
        that whatever code remembers from earlier requests never tells it more than the current
        request shows: the full history alone; the truncated and random-walk variants (real bars
        up to T only); the shuffled variants (real bars up to T and the set of later returns and
        volumes, which each later variant shows as well)."""
        rng = np.random.default_rng(seed)
        n = len(candles)
        low = min(warmup + 1, n - 2)
        points = np.sort(
            rng.choice(np.arange(low, n - 1), self.settings.shuffle_points, replace=False)
        )
        truncated, shuffled = [], []
        for t in map(int, points):
            head = candles.slice(0, t + 1)
            walk = random_walk(n - t - 1, int(rng.integers(2**31)), float(head.close[-1]))
            returns = rng.permutation(np.diff(np.log(candles.close[t:])))
            truncated += [head, _concatenate(head, walk.close, walk.volume)]
            shuffled.append(
                _concatenate(
                    head,
                    head.close[-1] * np.exp(np.cumsum(returns)),
                    rng.permutation(candles.volume[t + 1 :]),
                )
            )
        changed = np.zeros(len(points), dtype=bool)
        for group, per_point in ((truncated, 2), (shuffled, 1)):
            for index, variant in enumerate(group):
                t = int(points[index // per_point])
                signals = self.signal_source.signals(code, variant, fresh=index == 0)
                if not np.array_equal(signals[: t + 1], full[: t + 1]):
                    changed[index // per_point] = True
        if changed.any():
            return Reason(
                Code.LOOKAHEAD_SHUFFLE, f"{int(changed.sum())} of {len(points)} points changed"
            )
        return None

    def _warmup(self, code: str, warmup: int, seed: int) -> Reason | None:
        """The signals of the second half of a live history (``live_history_bars`` of a random
        walk; its part after the declared ``warmup`` when that is shorter) computed on it alone
        against those after twice as many bars falling into it from far above, and rising into it
        from far below. Signals that have forgotten where history starts agree whatever the
        declared warm-up; a cumulative sum, an expanding statistic or the first bar's price do
        not. Each made-up history gets a fresh process, so that none can repeat signals computed
        for the live history or learn where it starts by comparing two requests; the live history
        alone goes to the process of the shuffle test's last group, which saw other candles."""
        s = self.settings
        tail = min(s.live_history_bars // 2, s.live_history_bars - warmup)
        live = random_walk(s.live_history_bars, seed + 1)
        alone = self.signal_source.signals(code, live)[-tail:]
        before = 2 * len(live)
        for start_price, name in (
            (live.high.max() * np.exp(_FAR), "falling into them from far above"),
            (live.low.min() * np.exp(-_FAR), "rising into them from far below"),
        ):
            history = _preceded(live, before, float(start_price), seed)
            signals = self.signal_source.signals(code, history, fresh=True)[-tail:]
            differ = int(np.count_nonzero(signals != alone))
            if differ:
                return Reason(
                    Code.WARMUP_DEPENDENT,
                    f"{differ} of the last {tail} signals differ between the last {len(live)} "
                    f"bars alone (validator.live_history_bars) and after {before} bars {name}",
                )
        return None

    def _production_length(self, code: str) -> Reason | None:
        """The execution check at ``production_bars``, the longest history a backtest shows the
        code at once: ``timeout`` when it is too slow for that, as it would be in the backtester.
        Nothing is compared, so the request needs no fresh process."""
        bars = self.settings.production_bars
        try:
            self.signal_source.signals(code, _long_walk(bars))
        except StrategyTimeout as error:
            return Reason(
                Code.TIMEOUT, f"{error} on {bars} bars (the longest history of a backtest)"
            )
        return None


@attrs.frozen
class ValidateStrategies:
    """The validator service's use case: claims GENERATED strategies and decides each one, one
    unit of work (commit) per strategy. With a ``queue_limit`` (``pipeline.queue_limits.validated``)
    it claims only while fewer strategies than that wait in VALIDATED (back-pressure).

    ``claims`` renews the batch's claims while it works. A check that fails for a reason that is
    not the strategy's (the sandbox, the database) defers that strategy with a back-off, releases
    the rest of the batch and raises: no strategy is retired for our fault."""

    unit_of_work: UnitOfWork
    clock: Clock
    checker: StrategyChecker
    claims: ClaimKeeper
    queue_limit: int | None = None

    def run(self, limit: int = 20) -> dict[str, int]:
        """Validate up to ``limit`` strategies; returns how many were validated and retired."""
        claims = self.claims
        with self.unit_of_work as uow:
            if self.queue_limit is not None:
                limit = min(limit, self.queue_limit - uow.strategies.count(Status.VALIDATED))
            claimed = []
            if limit > 0:
                claimed = uow.claims.claim(
                    Status.GENERATED, limit, claims.owner, self.clock.now(), claims.lease
                )
            uow.commit()
        outcome = {"validated": 0, "retired": 0}
        pending = [strategy.id for strategy in claimed]
        with claims.renewing(pending):
            try:
                for strategy in claimed:
                    try:
                        reason = self.checker.reason(strategy.code)
                        self._decide(strategy.id, reason)
                    except Exception as error:
                        pending.remove(strategy.id)
                        claims.defer(strategy.id, error)
                        raise
                    pending.remove(strategy.id)
                    outcome["retired" if reason else "validated"] += 1
            finally:  # stopped or failed: the rest goes back to the queue (if the database lets us)
                if pending:
                    claims.release(pending)
        return outcome

    def _decide(self, strategy_id: uuid.UUID, reason: str | None) -> None:
        with self.unit_of_work as uow:
            current = uow.strategies.get(strategy_id)
            if reason is None:
                current.validate(at=self.clock.now())
            else:
                current.retire(reason, at=self.clock.now(), service=SERVICE)
                log.info("strategy %s retired: %s", current.name, reason)
            uow.strategies.save(current)
            uow.claims.release(current.id, self.claims.owner)
            uow.commit()
