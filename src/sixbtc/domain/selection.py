"""Which ACTIVE strategies the rotator deploys to LIVE (spec section 5)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import attrs

from sixbtc.domain.strategy import Status, Strategy


@attrs.frozen
class LiveSelection:
    """Fill free LIVE slots with the best ACTIVE strategies scoring at least ``min_score``.

    Best first (score, then the pool's tie-break); a candidate is skipped when it would make more
    than ``max_per_type`` strategies of its type, or ``max_per_timeframe`` of its timeframe, counted
    together with those already LIVE.
    """

    max_live: int = 10
    min_score: float = 50.0
    max_per_type: int = 3
    max_per_timeframe: int = 3

    def free_slots(self, live_count: int) -> int:
        """How many strategies may still go LIVE."""
        return max(0, self.max_live - live_count)

    def select(self, candidates: Iterable[Strategy], live: Sequence[Strategy]) -> list[Strategy]:
        """The strategies to deploy now, best first; never more than the free slots."""
        slots = self.free_slots(len(live))
        per_type = Counter(s.strategy_type for s in live)
        per_timeframe = Counter(s.timeframe for s in live)
        eligible = [
            s
            for s in candidates
            if s.status is Status.ACTIVE
            and s.score_backtest is not None
            and s.score_backtest >= self.min_score
        ]
        eligible.sort(key=lambda s: s.standing().rank_key(), reverse=True)
        chosen: list[Strategy] = []
        for strategy in eligible:
            if len(chosen) >= slots:
                break
            if per_type[strategy.strategy_type] >= self.max_per_type:
                continue
            if per_timeframe[strategy.timeframe] >= self.max_per_timeframe:
                continue
            chosen.append(strategy)
            per_type[strategy.strategy_type] += 1
            per_timeframe[strategy.timeframe] += 1
        return chosen
