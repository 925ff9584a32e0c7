"""The ActivePool against a naive reference model, step by step (Hypothesis state machine).

The pool starts as a database may hold it (a migrated one: members without a score, more members
than ``max_size``); the configuration may change between steps (a lower size, a higher entry score).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from sixbtc.domain.errors import PoolError
from sixbtc.domain.pool import ActivePool
from sixbtc.domain.strategy import Standing

ENTRY = 15.0
T0 = datetime(2026, 1, 1, tzinfo=UTC)
# Few distinct values so that ties (and the tie-break) happen often; 14.999 probes the threshold.
scores = st.sampled_from([0.0, 10.0, 14.999, 15.0, 15.0, 20.0, 20.0, 35.5, 50.0, 99.0])
stored_scores = st.one_of(st.none(), st.sampled_from([15.0, 20.0, 20.0, 35.5, 50.0]))


class ReferencePool:
    """The rules of spec section 2 written as plainly as possible. Members without a score (a
    migrated database) count toward the size but are never compared, evicted or trimmed."""

    def __init__(self, max_size: int, entry: float, members) -> None:
        self.max_size = max_size
        self.entry = entry
        self.members: dict[uuid.UUID, tuple[float | None, datetime | None]] = dict(members)

    def scored(self, excluding=None):
        return [i for i, (s, _) in self.members.items() if s is not None and i != excluding]

    def worst(self, excluding=None):
        ids = self.scored(excluding)
        return min(ids, key=lambda i: (*self.members[i], i.int)) if ids else None

    def maintain(self):
        out = []
        for sid in self.scored():
            if self.members[sid][0] < self.entry:
                del self.members[sid]
                out.append((sid, "retire", "below_entry"))
        while len(self.members) > self.max_size and self.scored():
            worst = self.worst()
            del self.members[worst]
            out.append((worst, "retire", "pool_trim"))
        return out

    def admit(self, sid, score, when):
        out = self.maintain()
        if score < self.entry:
            return [*out, (sid, "retire", "below_entry")]
        if len(self.members) >= self.max_size:
            worst = self.worst()
            if worst is None or score <= self.members[worst][0]:
                return [*out, (sid, "retire", "pool_full")]
            del self.members[worst]
            out.append((worst, "retire", "evicted"))
        self.members[sid] = (score, when)
        return [*out, (sid, "admit", "")]

    def rescore(self, sid, score, when):
        if score < self.entry:
            del self.members[sid]
            return [(sid, "retire", "retest_below_entry")]
        if len(self.members) >= self.max_size:
            rest = [self.members[i][0] for i in self.scored(excluding=sid)]
            if rest and score < min(rest):
                del self.members[sid]
                return [(sid, "retire", "retest_below_pool_min")]
        self.members[sid] = (score, when)
        return [(sid, "keep", "")]


def as_tuples(decisions):
    return [(d.strategy_id, str(d.action), d.reason_code) for d in decisions]


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tick = 0
        self.retired_ids: set[uuid.UUID] = set()
        self.settled = False  # once the pool fits and every member has a score, it always fits

    @initialize(
        stored=st.lists(
            st.tuples(st.uuids(), stored_scores), max_size=8, unique_by=lambda item: item[0]
        )
    )
    def load_from_storage(self, stored):
        members = {sid: (score, None if score is None else T0) for sid, score in stored}
        self.pool = ActivePool(5, ENTRY, [Standing(i, s, w) for i, (s, w) in members.items()])
        self.model = ReferencePool(5, ENTRY, members)

    def now(self) -> datetime:
        self.tick += 1
        return T0 + timedelta(minutes=self.tick)

    def _check_same(self, decisions, expected):
        assert as_tuples(decisions) == expected
        for sid, action, _ in expected:
            if action == "retire":
                self.retired_ids.add(sid)

    def _within_bounds(self):
        """After admitting or maintaining, the pool fits, unless unscored members alone fill it."""
        members = self.pool.members()
        assert len(members) <= self.pool.max_size or all(s.score is None for s in members)

    def _is_new(self, sid) -> bool:
        return sid not in self.model.members and sid not in self.retired_ids

    def _admit(self, sid, score, same_time):
        when = T0 if same_time else self.now()
        before = self.pool.members()
        decisions = self.pool.admit(Standing(sid, score, when))
        self._check_same(decisions, self.model.admit(sid, score, when))
        if decisions[-1].reason_code == "pool_full":
            survivors = [s for s in before if s.strategy_id not in self.retired_ids]
            assert all(score <= s.score for s in survivors if s.score is not None)
        assert len(self.pool) <= max(self.pool.max_size, len(before))
        self._within_bounds()

    @rule(sid=st.uuids(), score=scores, same_time=st.booleans())
    def admit(self, sid, score, same_time):
        if self._is_new(sid):
            self._admit(sid, score, same_time)

    @rule(
        sid=st.uuids(),
        score=scores,
        new_size=st.integers(min_value=1, max_value=8),
        new_entry=st.sampled_from([ENTRY, 20.0, 35.5]),
    )
    def change_configuration_then_admit(self, sid, score, new_size, new_entry):
        """The configuration changed and a backtester admits before any maintenance."""
        if not self._is_new(sid):
            return
        self.pool.max_size = self.model.max_size = new_size
        self.pool.min_score_entry = self.model.entry = new_entry
        self._admit(sid, score, same_time=False)

    @precondition(lambda self: len(self.pool) > 0)
    @rule(data=st.data())
    def rescore(self, data):
        sid = data.draw(st.sampled_from(sorted(self.model.members, key=lambda i: i.int)))
        # often exactly another member's score: ties with the rest's minimum matter here
        current = sorted({s for s, _ in self.model.members.values() if s is not None})
        score = data.draw(st.one_of(scores, st.sampled_from(current)) if current else scores)
        before = len(self.pool)
        when = self.now()
        decision = self.pool.rescore(Standing(sid, score, when))
        self._check_same([decision], self.model.rescore(sid, score, when))
        assert len(self.pool) <= before

    @rule(new_size=st.integers(min_value=1, max_value=8))
    def change_capacity_and_maintain(self, new_size):
        self.pool.max_size = self.model.max_size = new_size
        self._check_same(self.pool.maintain(), self.model.maintain())
        self._within_bounds()

    @precondition(lambda self: len(self.pool) > 0)
    @rule(data=st.data())
    def go_live(self, data):
        sid = data.draw(st.sampled_from(sorted(self.model.members, key=lambda i: i.int)))
        self.pool.release(sid)
        del self.model.members[sid]

    @precondition(lambda self: len(self.retired_ids) > 0)
    @rule(data=st.data(), score=scores)
    def retired_never_returns(self, data, score):
        sid = data.draw(st.sampled_from(sorted(self.retired_ids, key=lambda i: i.int)))
        with pytest.raises(PoolError, match="retired"):
            self.pool.admit(Standing(sid, score + 50, self.now()))

    @invariant()
    def size_within_capacity_once_settled(self):
        members = self.pool.members()
        fits = len(members) <= self.pool.max_size
        if self.settled:
            assert fits
        self.settled = self.settled or (fits and all(s.score is not None for s in members))

    @invariant()
    def every_scored_member_meets_the_entry_score(self):
        entry = self.pool.min_score_entry
        assert all(s.score >= entry for s in self.pool.members() if s.score is not None)

    @invariant()
    def retired_members_are_gone(self):
        assert not any(s.strategy_id in self.retired_ids for s in self.pool.members())

    @invariant()
    def same_members_and_scores_as_the_model(self):
        assert {s.strategy_id: s.score for s in self.pool.members()} == {
            sid: score for sid, (score, _) in self.model.members.items()
        }


PoolMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_pool_matches_reference_model = PoolMachine.TestCase
