import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sixbtc.domain.orders import client_order_id, exit_reason
from sixbtc.domain.position import ExitReason


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
