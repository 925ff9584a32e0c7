"""What ``sixbtc report`` draws: a read model of the whole factory (the funnel over time, the
pool's scores, retirements by reason, the best strategies' backtest equity, live profits), built
from the repositories and never used for decisions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import datetime

import attrs

from sixbtc.application.ports import Clock, StrategyFilter, UnitOfWork
from sixbtc.domain.candles import from_ms
from sixbtc.domain.reasons import Code
from sixbtc.domain.sensitivity import Robustness
from sixbtc.domain.strategy import Status


@attrs.frozen
class Curve:
    """One strategy's curve: its name, its status, (time, value) points and, for a backtest, the
    start of its holdout."""

    name: str
    status: Status
    points: list[tuple[datetime, float]]
    holdout: datetime | None = None


@attrs.frozen
class FactoryReport:
    """The factory's history and standing at ``at``.

    ``funnel``: for each status, the times strategies reached it (cumulative counts follow);
    ``scores``: the ACTIVE pool's scores; ``retired``: retirements by reason code; ``backtests``:
    the equity curve of the latest backtest of the best ``top`` ACTIVE or LIVE strategies;
    ``live``: the cumulative profit of closed live trades of every strategy that traded;
    ``robustness``: the same best strategies' latest robustness figures
    (:meth:`Robustness.latest`; None: not recorded).
    """

    at: datetime
    funnel: dict[Status, list[datetime]]
    scores: list[float]
    retired: Counter[Code]
    backtests: list[Curve]
    live: list[Curve]
    robustness: list[tuple[str, Robustness | None]] = attrs.field(factory=list)


@attrs.frozen
class ReportQuery:
    """Builds the :class:`FactoryReport` in one unit of work."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    top: int = 5

    def __call__(self) -> FactoryReport:
        with self.unit_of_work() as uow:
            events = [e for _, e in reversed(uow.strategies.recent_events(None))]
            funnel: dict[Status, list[datetime]] = {status: [] for status in Status}
            retired: Counter[Code] = Counter()
            for event in events:
                if isinstance(event.to_status, Status) and event.from_status != event.to_status:
                    funnel[event.to_status].append(event.at)
                if event.to_status is Status.RETIRED:
                    retired[event.reason.code] += 1
            scores = sorted(
                s.score for s in uow.strategies.standings(Status.ACTIVE) if s.score is not None
            )
            best = uow.strategies.search(
                StrategyFilter(statuses=frozenset({Status.ACTIVE, Status.LIVE}), limit=self.top)
            )
            backtests, robustness = [], []
            for strategy in best:
                results = uow.backtests.for_strategy(strategy.id)
                robustness.append(
                    (strategy.name, Robustness.latest([r.robustness for r in results]))
                )
                if results and results[-1].equity:
                    latest = results[-1]
                    points = [(from_ms(t), v) for t, v in latest.equity]
                    backtests.append(
                        Curve(strategy.name, strategy.status, points, latest.holdout_window.start)
                    )
            live = []
            traded = {e.strategy_id for e in events if e.to_status is Status.LIVE}
            for strategy_id in sorted(traded, key=lambda sid: sid.int):
                closed = [t for t in uow.trades.for_strategy(strategy_id) if not t.is_open]
                closed.sort(key=lambda t: t.exit_time)
                if not closed:
                    continue
                strategy = uow.strategies.get(strategy_id)
                total, points = 0.0, [(strategy.live_since or closed[0].entry_time, 0.0)]
                for trade in closed:
                    total += trade.pnl or 0.0
                    points.append((trade.exit_time, total))
                live.append(Curve(strategy.name, strategy.status, points))
            return FactoryReport(
                self.clock.now(), funnel, scores, retired, backtests, live, robustness
            )
