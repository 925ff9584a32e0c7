"""The ACTIVE pool: a leaderboard of at most ``max_size`` strategies (spec section 2).

The pool decides; it does not store. Each method updates the pool's own view of its members and
returns the decisions, in the order the caller must apply them to the strategies.
"""

from __future__ import annotations

import enum
import math
import uuid
from collections.abc import Iterable

import attrs

from sixbtc.domain.errors import PoolError
from sixbtc.domain.reasons import Code, Reason
from sixbtc.domain.strategy import Standing


class Action(enum.StrEnum):
    """What a pool decision does to a strategy: enter the pool, stay in it, or retire."""

    ADMIT = "admit"
    KEEP = "keep"
    RETIRE = "retire"


@attrs.frozen
class PoolDecision:
    """What to do with one strategy; ``reason`` for retirements."""

    strategy_id: uuid.UUID
    action: Action
    reason: Reason | None = None

    @property
    def reason_code(self) -> str:
        """The reason's code (``pool_full``), empty when there is no reason."""
        return self.reason.code if self.reason else ""


class ActivePool:
    """Leaderboard rules: entry score, capacity, eviction of the worst, re-scoring and trimming.

    Worst means lowest :meth:`Standing.rank_key`: lowest score, then older ``last_backtested_at``,
    then smaller id. Retired ids are remembered and can never be admitted again.

    Members without a score (migrated from the original system, due for a re-backtest) count toward
    the size but are not ranked: they are never evicted or trimmed, and ``min(pool)`` is taken over
    the scored members only.
    """

    def __init__(
        self, max_size: int, min_score_entry: float, members: Iterable[Standing] = ()
    ) -> None:
        if max_size < 1:
            raise ValueError(f"max_size: {max_size}; expected an integer >= 1")
        self.max_size = max_size
        self.min_score_entry = min_score_entry
        self._members: dict[uuid.UUID, Standing] = {}
        self._retired: set[uuid.UUID] = set()
        for standing in members:
            if standing.strategy_id in self._members:
                raise PoolError(f"strategy {standing.strategy_id} is listed twice in the pool")
            self._members[standing.strategy_id] = standing

    def __len__(self) -> int:
        return len(self._members)

    def __contains__(self, strategy_id: object) -> bool:
        return strategy_id in self._members

    @property
    def is_full(self) -> bool:
        """Whether the members (scored or not) fill ``max_size``."""
        return len(self._members) >= self.max_size

    def members(self) -> list[Standing]:
        """The members, best first."""
        return sorted(self._members.values(), key=Standing.rank_key, reverse=True)

    def worst(self, excluding: uuid.UUID | None = None) -> Standing | None:
        """The scored member that would go first, or None when the pool (minus ``excluding``) has
        no scored member."""
        scored = (s for i, s in self._members.items() if i != excluding and s.score is not None)
        return min(scored, key=Standing.rank_key, default=None)

    def would_admit(self, score: float) -> bool:
        """Whether a candidate scoring ``score`` would enter the pool now (by :meth:`admit`'s
        rules); the pool is left as it is."""
        trial = ActivePool(self.max_size, self.min_score_entry, self._members.values())
        decisions = trial.admit(Standing(uuid.uuid4(), score, None))
        return decisions[-1].action is Action.ADMIT

    def admit(self, candidate: Standing) -> list[PoolDecision]:
        """Decide on a newly backtested candidate: enter, enter by evicting the worst, or retire.

        A pool found over its bounds (a lowered ``max_size``, a migrated database) is first brought
        back within them as :meth:`maintain` does; those decisions come first. A full pool without
        a scored member to compare with rejects the candidate (``pool_full``).
        """
        cid = candidate.strategy_id
        if cid in self._members:
            raise PoolError(f"strategy {cid} is already in the pool")
        if cid in self._retired:
            raise PoolError(f"strategy {cid} was retired and cannot come back")
        score = self._score_of(candidate)
        decisions = self.maintain()
        if score < self.min_score_entry:
            reason = Reason(Code.BELOW_ENTRY, f"{score:.6g} < {self.min_score_entry:g}")
            return [*decisions, self._retire_outsider(cid, reason)]
        if self.is_full:
            worst = self.worst()
            if worst is None:
                reason = Reason(Code.POOL_FULL, f"{score:.6g}, no scored member to compare with")
                return [*decisions, self._retire_outsider(cid, reason)]
            if score <= worst.score:
                reason = Reason(Code.POOL_FULL, f"{score:.6g} <= pool minimum {worst.score:.6g}")
                return [*decisions, self._retire_outsider(cid, reason)]
            decisions.append(
                self._remove(
                    worst, Reason(Code.EVICTED, f"by {cid} ({score:.6g} > {worst.score:.6g})")
                )
            )
        self._members[cid] = candidate
        decisions.append(PoolDecision(cid, Action.ADMIT))
        return decisions

    def rescore(self, updated: Standing) -> PoolDecision:
        """Apply a re-backtest: keep with the new score, or retire when below the entry score or,
        while the pool is full, below the minimum of the other scored members."""
        sid = updated.strategy_id
        if sid not in self._members:
            raise PoolError(f"strategy {sid} is not in the pool")
        score = self._score_of(updated)
        if score < self.min_score_entry:
            return self._remove(
                updated, Reason(Code.RETEST_BELOW_ENTRY, f"{score:.6g} < {self.min_score_entry:g}")
            )
        if self.is_full:
            rest = self.worst(excluding=sid)
            if rest is not None and score < rest.score:
                return self._remove(
                    updated, Reason(Code.RETEST_BELOW_POOL_MIN, f"{score:.6g} < {rest.score:.6g}")
                )
        self._members[sid] = updated
        return PoolDecision(sid, Action.KEEP)

    def maintain(self) -> list[PoolDecision]:
        """Retire scored members below the entry score, then the worst until the pool fits.

        Members without a score (a migrated database) stay: they are due for a re-backtest.
        """
        decisions = [
            self._remove(s, Reason(Code.BELOW_ENTRY, f"{s.score:.6g} < {self.min_score_entry:g}"))
            for s in list(self._members.values())
            if s.score is not None and s.score < self.min_score_entry
        ]
        scored = sorted(
            (s for s in self._members.values() if s.score is not None), key=Standing.rank_key
        )
        excess = len(self._members) - self.max_size
        for standing in scored[: max(0, excess)]:
            decisions.append(
                self._remove(
                    standing,
                    Reason(Code.POOL_TRIM, f"{standing.score:.6g} below the {self.max_size} best"),
                )
            )
        return decisions

    def release(self, strategy_id: uuid.UUID) -> None:
        """A member left the pool without retiring (it went LIVE)."""
        if self._members.pop(strategy_id, None) is None:
            raise PoolError(f"strategy {strategy_id} is not in the pool")

    @staticmethod
    def _score_of(standing: Standing) -> float:
        if standing.score is None or math.isnan(standing.score):
            raise PoolError(
                f"strategy {standing.strategy_id}: score {standing.score}; expected a number to be "
                "ranked by"
            )
        return standing.score

    def _remove(self, standing: Standing, reason: Reason) -> PoolDecision:
        del self._members[standing.strategy_id]
        return self._retire_outsider(standing.strategy_id, reason)

    def _retire_outsider(self, strategy_id: uuid.UUID, reason: Reason) -> PoolDecision:
        self._retired.add(strategy_id)
        return PoolDecision(strategy_id, Action.RETIRE, reason)
