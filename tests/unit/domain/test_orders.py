import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sixbtc.domain.orders import client_order_id, exit_reason
from sixbtc.domain.position import Direction, ExitReason
from sixbtc.domain.trade import Trade


@given(st.lists(st.text(), min_size=1, max_size=4), st.sampled_from([None, *ExitReason]))
def test_an_id_tells_why_its_order_closes_a_position(parts, reason):
    cloid = client_order_id(*parts, reason=reason)
    assert len(cloid) == 34 and cloid.startswith("0x")
    int(cloid, 16)  # hex, as Hyperliquid requires of a cloid
    assert exit_reason(cloid) is reason


def test_the_same_parts_give_the_same_id_and_reasons_give_different_ones():
    strategy = uuid.UUID(int=3)
    assert client_order_id(strategy, "BTC", 1) == client_order_id(strategy, "BTC", 1)
    ids = {client_order_id(strategy, "BTC", 1, reason=r) for r in [None, *ExitReason]}
    assert len(ids) == len(ExitReason) + 1


@pytest.mark.parametrize("cloid", ["", "0x12", "abc" * 12, "0x" + "0" * 30 + "ff", "0x" + "z" * 32])
def test_an_id_no_order_of_ours_carries_is_refused_by_name(cloid):
    with pytest.raises(ValueError, match="client order id"):
        exit_reason(cloid)


def test_partial_fills_make_one_trade_and_a_partial_exit_closes_its_part():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    trade = Trade(uuid.UUID(int=1), 1, "BTC", Direction.LONG, at, 100.0, 1.0, 2.0, "0x1", fees=0.1)
    trade.add_entry(3.0, 104.0, 0.3)
    assert (trade.amount, trade.entry_price, trade.fees) == (4.0, 103.0, pytest.approx(0.4))
    part = trade.split(1.0)
    part.close(at=at, price=113.0, reason=ExitReason.TAKE_PROFIT, fee=0.1, order_id="0x2")
    assert (trade.amount, trade.fees) == (3.0, pytest.approx(0.3))
    assert part.pnl == pytest.approx(10.0 - 0.2) and part.id != trade.id and trade.is_open
    with pytest.raises(ValueError, match=r"amount: 3\.0; expected between 0 and 3\.0"):
        trade.split(3.0)
