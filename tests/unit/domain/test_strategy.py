import itertools

import pytest
from tests.factories import T0, make_strategy

from sixbtc.domain.errors import IllegalTransition
from sixbtc.domain.strategy import TRANSITIONS, Status, Strategy, code_hash

ALL_PAIRS = list(itertools.product(Status, Status))
LEGAL = sorted(TRANSITIONS, key=str)
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]


def test_transition_table_is_the_specified_one():
    assert set(TRANSITIONS) == {
        (Status.GENERATED, Status.VALIDATED),
        (Status.GENERATED, Status.RETIRED),
        (Status.VALIDATED, Status.ACTIVE),
        (Status.VALIDATED, Status.RETIRED),
        (Status.ACTIVE, Status.ACTIVE),
        (Status.ACTIVE, Status.RETIRED),
        (Status.ACTIVE, Status.LIVE),
        (Status.LIVE, Status.RETIRED),
    }
    assert len(ILLEGAL) == 25 - 8


@pytest.mark.parametrize(("source", "target"), LEGAL)
def test_legal_transition_moves_and_records_an_event(source, target):
    strategy = make_strategy(source)
    event = strategy.move_to(target, reason="because", at=T0, service="test")
    assert strategy.status is target
    assert strategy.events == [event]
    assert (event.from_status, event.to_status, event.reason, event.at, event.service) == (
        source,
        target,
        "because",
        T0,
        "test",
    )
    assert event.strategy_id == strategy.id


@pytest.mark.parametrize(("source", "target"), ILLEGAL)
def test_illegal_transition_raises_and_changes_nothing(source, target):
    strategy = make_strategy(source)
    with pytest.raises(IllegalTransition, match=f"{source} -> {target}"):
        strategy.move_to(target, reason="nope", at=T0, service="test")
    assert strategy.status is source
    assert strategy.events == []


def test_retired_never_comes_back():
    strategy = make_strategy(Status.ACTIVE)
    strategy.retire("evicted", at=T0, service="backtester")
    for target in Status:
        with pytest.raises(IllegalTransition):
            strategy.move_to(target, reason="again", at=T0, service="test")


def test_retire_records_reason_and_time():
    strategy = make_strategy(Status.LIVE)
    strategy.retire("live_score: 12 < 30", at=T0, service="monitor")
    assert strategy.retired_reason == "live_score: 12 < 30"
    assert strategy.retired_at == T0


def test_a_status_change_needs_a_reason():
    with pytest.raises(ValueError, match="reason"):
        make_strategy(Status.GENERATED).move_to(Status.VALIDATED, reason="", at=T0, service="v")


def test_backtest_can_be_recorded_only_before_or_in_the_pool():
    strategy = make_strategy(Status.GENERATED)
    with pytest.raises(IllegalTransition):
        strategy.record_backtest(20.0, at=T0)


def test_code_hash_ignores_line_endings_and_blank_lines():
    assert code_hash("a = 1\r\n\r\nb = 2  \n") == code_hash("a = 1\nb = 2")
    assert code_hash("a = 1") != code_hash("a = 2")


def test_strategy_type_must_be_an_upper_case_code():
    with pytest.raises(ValueError, match="strategy_type"):
        Strategy(name="x", code="", strategy_type="mom", created_at=T0)


def test_identity_is_the_id():
    a = make_strategy()
    b = make_strategy(strategy_id=a.id)
    assert a == b and hash(a) == hash(b)
    assert a != make_strategy()
