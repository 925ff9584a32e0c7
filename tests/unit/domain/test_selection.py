from collections import Counter
from datetime import timedelta

import hypothesis.strategies as st
import pytest
from hypothesis import given
from tests.factories import T0, make_strategy

from sixbtc.domain.selection import LiveSelection
from sixbtc.domain.strategy import Status
from sixbtc.domain.timeframe import Timeframe

selection = LiveSelection()
TIMEFRAMES = list(Timeframe)


def active(score, kind="MOM", timeframe=Timeframe.H1, **kw):
    return make_strategy(Status.ACTIVE, score=score, strategy_type=kind, timeframe=timeframe, **kw)


def test_score_50_is_selectable_and_49_999_is_not():
    chosen = selection.select([active(49.999), active(50.0, kind="REV")], live=[])
    assert [s.score_backtest for s in chosen] == [50.0]


def test_best_first_and_never_more_than_free_slots():
    pool = [
        active(50 + i, kind=k, timeframe=tf)
        for i, (k, tf) in enumerate(
            (k, tf) for k in ("MOM", "REV", "TRN", "BRK", "VOL") for tf in TIMEFRAMES[:4]
        )
    ]
    live = [active(90, kind="SCA", timeframe=Timeframe.D1) for _ in range(7)]
    for s in live:
        s.status = Status.LIVE
    chosen = selection.select(pool, live=live)
    assert len(chosen) == 3
    assert [s.score_backtest for s in chosen] == sorted(
        (s.score_backtest for s in chosen), reverse=True
    )
    assert chosen[0].score_backtest == max(s.score_backtest for s in pool)


def test_best_candidates_all_one_type_take_only_three_slots():
    moms = [active(90 - i, kind="MOM", timeframe=TIMEFRAMES[i % 6]) for i in range(8)]
    others = [
        active(60, kind="REV", timeframe=Timeframe.H4),
        active(55, kind="TRN", timeframe=Timeframe.M5),
    ]
    chosen = selection.select(moms + others, live=[])
    assert [s.strategy_type for s in chosen] == ["MOM", "MOM", "MOM", "REV", "TRN"]
    assert [s.score_backtest for s in chosen[:3]] == [90, 89, 88]


def test_limits_count_strategies_already_live():
    live = [active(80, kind="MOM", timeframe=Timeframe.M15) for _ in range(2)]
    for s in live:
        s.status = Status.LIVE
    candidates = [
        active(70, kind="MOM", timeframe=Timeframe.H1),
        active(69, kind="MOM", timeframe=Timeframe.H4),
        active(68, kind="REV", timeframe=Timeframe.M15),
        active(67, kind="VOL", timeframe=Timeframe.M15),
    ]
    chosen = selection.select(candidates, live=live)
    # one more MOM allowed (3 per type), one more 15m allowed (3 per timeframe)
    assert [s.score_backtest for s in chosen] == [70, 68]


def test_only_active_strategies_are_candidates():
    retired = active(99)
    retired.status = Status.RETIRED
    assert selection.select([retired], live=[]) == []


def test_ties_go_to_the_most_recently_backtested_then_larger_id():
    old = active(60, last_backtested_at=T0)
    new = active(60, last_backtested_at=T0 + timedelta(days=1))
    one = LiveSelection(max_live=1)
    assert one.select([old, new], live=[]) == [new]


@pytest.mark.parametrize("live_count,free", [(0, 10), (9, 1), (10, 0), (12, 0)])
def test_free_slots_are_the_live_limit_minus_live_strategies_never_below_zero(live_count, free):
    assert selection.free_slots(live_count) == free


candidate_specs = st.lists(
    st.tuples(
        st.sampled_from([40.0, 49.999, 50.0, 60.0, 60.0, 75.0, 99.0]),
        st.sampled_from(["MOM", "REV", "TRN"]),
        st.sampled_from(TIMEFRAMES[:3]),
        st.sampled_from([Status.ACTIVE, Status.ACTIVE, Status.ACTIVE, Status.RETIRED]),
    ),
    max_size=25,
)
live_specs = st.lists(
    st.tuples(st.sampled_from(["MOM", "REV", "VOL"]), st.sampled_from(TIMEFRAMES[:3])),
    max_size=12,
)


@given(candidate_specs, live_specs)
def test_selection_is_the_greedy_best_first_fill_within_the_limits(specs, live_specs):
    candidates = []
    for score, kind, timeframe, status in specs:
        strategy = active(score, kind=kind, timeframe=timeframe)
        strategy.status = status
        candidates.append(strategy)
    live = [active(80, kind=kind, timeframe=timeframe) for kind, timeframe in live_specs]
    chosen = selection.select(candidates, live=live)

    slots = selection.free_slots(len(live))
    assert len(chosen) <= slots
    assert len(set(chosen)) == len(chosen)
    assert all(s.status is Status.ACTIVE and s.score_backtest >= 50 for s in chosen)
    ranks = [s.standing().rank_key() for s in chosen]
    assert ranks == sorted(ranks, reverse=True)

    def counts(strategies):
        return Counter(s.strategy_type for s in strategies), Counter(
            s.timeframe for s in strategies
        )

    live_types, live_timeframes = counts(live)
    types, timeframes = counts(chosen)
    assert all(live_types[t] + n <= 3 for t, n in types.items())
    assert all(live_timeframes[tf] + n <= 3 for tf, n in timeframes.items())
    # every eligible candidate left out was full at its turn: no slot or a limit reached
    for left in candidates:
        if left in chosen or left.status is not Status.ACTIVE or left.score_backtest < 50:
            continue
        ahead = [s for s in chosen if s.standing().rank_key() > left.standing().rank_key()]
        types_ahead, timeframes_ahead = counts([*live, *ahead])
        assert (
            len(ahead) >= slots
            or types_ahead[left.strategy_type] >= 3
            or timeframes_ahead[left.timeframe] >= 3
        )
