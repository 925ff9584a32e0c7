"""The scorer and the monitor (spec sections 3 and 6): each LIVE strategy's live metrics from its
trades, its live score (the backtest's formula, degradation measured against its backtest's
Sharpe), and, for the monitor, retirement by the :class:`RetirementPolicy`.

One path for both services: :meth:`LiveReview.run` scores every LIVE strategy and stores
``score_live``; with ``retire`` it also retires those the policy names (LIVE -> RETIRED with the
reason and its figures). The executor then closes the retired strategy's positions on its next
candle, moves its cash back and frees the subaccount; the rotator refills the slot.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import attrs

from sixbtc.application.ports import Clock, UnitOfWork
from sixbtc.domain.live import drawdown, live_metrics
from sixbtc.domain.metrics import Metrics
from sixbtc.domain.reasons import Reason
from sixbtc.domain.retirement import LiveRecord, RetirementPolicy
from sixbtc.domain.scoring import ScoringPolicy
from sixbtc.domain.strategy import Status

log = logging.getLogger(__name__)


@attrs.frozen
class LiveVerdict:
    """One LIVE strategy at a check: its live metrics, score and the retirement reason if any."""

    strategy_id: uuid.UUID
    name: str
    metrics: Metrics
    record: LiveRecord
    retired: Reason | None


@attrs.frozen
class LiveReview:
    """Scores LIVE strategies from their trades; as the monitor, retires those that degrade."""

    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    scoring: ScoringPolicy
    retirement: RetirementPolicy
    service: str = "monitor"

    def run(self, *, retire: bool) -> list[LiveVerdict]:
        """Score every LIVE strategy (one commit each); with ``retire``, retire per the policy."""
        with self.unit_of_work() as uow:
            live = [s.id for s in uow.strategies.by_status(Status.LIVE)]
        return [v for v in (self._review(sid, retire) for sid in live) if v is not None]

    def _review(self, strategy_id: uuid.UUID, retire: bool) -> LiveVerdict | None:
        with self.unit_of_work() as uow:
            strategy = uow.strategies.get(strategy_id)
            account = next((a for a in uow.subaccounts.all() if a.strategy_id == strategy_id), None)
            if strategy.status is not Status.LIVE or account is None or strategy.timeframe is None:
                return None
            now = self.clock.now()
            since = strategy.live_since or now
            trades = uow.trades.for_strategy(strategy_id)
            metrics = live_metrics(
                trades, account.allocated_capital, since, now, strategy.timeframe
            )
            results = uow.backtests.for_strategy(strategy_id)
            backtest_sharpe = 0.0
            if results:
                latest = results[-1]
                backtest_sharpe = latest.training.weighted_with(
                    latest.holdout, self.scoring.holdout_weight
                ).sharpe
            strategy.score_live = self.scoring.live_score(metrics, backtest_sharpe)
            record = LiveRecord(
                score_live=strategy.score_live,
                score_backtest=strategy.score_backtest or 0.0,
                drawdown=drawdown(account.peak_balance, account.current_balance),
                closed_trades=metrics.trades,
            )
            reason = self.retirement.reason_to_retire(record) if retire else None
            if reason is not None:
                strategy.retire(reason, at=now, service=self.service)
                log.info("strategy %s retired from LIVE: %s", strategy.name, reason)
            uow.strategies.save(strategy)
            uow.commit()
        return LiveVerdict(strategy_id, strategy.name, metrics, record, reason)
