"""The ActivePool against a naive reference model, step by step (Hypothesis state machine)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import settings
from hypothesis.stateful import (
    RuleBasedStateMachine,
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


class ReferencePool:
    """The rules of spec section 2 written as plainly as possible."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self.members: dict[uuid.UUID, tuple[float, datetime]] = {}

    def key(self, sid):
        score, when = self.members[sid]
        return (score, when, sid.int)

    def worst(self, excluding=None):
        ids = [i for i in self.members if i != excluding]
        return min(ids, key=self.key) if ids else None

    def admit(self, sid, score, when):
        if score < ENTRY:
            return [(sid, "retire", "below_entry")]
        out = []
        if len(self.members) >= self.max_size:
            worst = self.worst()
            if score <= self.members[worst][0]:
                return [(sid, "retire", "pool_full")]
            del self.members[worst]
            out.append((worst, "retire", "evicted"))
        self.members[sid] = (score, when)
        return [*out, (sid, "admit", "")]

    def rescore(self, sid, score, when):
        if score < ENTRY:
            del self.members[sid]
            return [(sid, "retire", "retest_below_entry")]
        if len(self.members) >= self.max_size:
            rest = [s for i, (s, _) in self.members.items() if i != sid]
            if rest and score < min(rest):
                del self.members[sid]
                return [(sid, "retire", "retest_below_pool_min")]
        self.members[sid] = (score, when)
        return [(sid, "keep", "")]

    def maintain(self):
        out = []
        for sid in [i for i, (s, _) in self.members.items() if s < ENTRY]:
            del self.members[sid]
            out.append((sid, "retire", "below_entry"))
        while len(self.members) > self.max_size:
            worst = self.worst()
            del self.members[worst]
            out.append((worst, "retire", "pool_trim"))
        return out


def as_tuples(decisions):
    return [(d.strategy_id, str(d.action), d.reason_code) for d in decisions]


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tick = 0
        self.max_size = 5
        self.pool = ActivePool(self.max_size, ENTRY)
        self.model = ReferencePool(self.max_size)
        self.retired_ids: set[uuid.UUID] = set()

    def now(self) -> datetime:
        self.tick += 1
        return T0 + timedelta(minutes=self.tick)

    def _check_same(self, decisions, expected):
        assert as_tuples(decisions) == expected
        for sid, action, _ in expected:
            if action == "retire":
                self.retired_ids.add(sid)

    @rule(sid=st.uuids(), score=scores, same_time=st.booleans())
    def admit(self, sid, score, same_time):
        if sid in self.model.members or sid in self.retired_ids:
            return
        when = T0 if same_time else self.now()
        before = [s.score for s in self.pool.members()]
        decisions = self.pool.admit(Standing(sid, score, when))
        self._check_same(decisions, self.model.admit(sid, score, when))
        if decisions[-1].reason_code == "pool_full":
            assert all(score <= member for member in before)

    @precondition(lambda self: len(self.pool) > 0)
    @rule(data=st.data(), score=scores)
    def rescore(self, data, score):
        sid = data.draw(st.sampled_from(sorted(self.model.members, key=lambda i: i.int)))
        when = self.now()
        decision = self.pool.rescore(Standing(sid, score, when))
        self._check_same([decision], self.model.rescore(sid, score, when))

    @rule(new_size=st.integers(min_value=1, max_value=8))
    def change_capacity_and_maintain(self, new_size):
        self.max_size = new_size
        self.pool.max_size = new_size  # as when the configuration lowers active_pool.max_size
        self.model.max_size = new_size
        self._check_same(self.pool.maintain(), self.model.maintain())

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
    def size_within_capacity(self):
        assert len(self.pool) <= self.max_size

    @invariant()
    def every_member_scores_at_least_the_entry(self):
        assert all(s.score >= ENTRY for s in self.pool.members())

    @invariant()
    def same_members_as_the_model(self):
        assert {s.strategy_id for s in self.pool.members()} == set(self.model.members)


PoolMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
test_pool_matches_reference_model = PoolMachine.TestCase
