import uuid
from datetime import UTC, datetime

import pytest

from sixbtc.domain.orders import OrderRequest, Position, Side, client_order_id
from sixbtc.domain.position import Direction, ExitReason
from sixbtc.domain.reconciliation import IssueKind, compare
from sixbtc.domain.trade import Trade

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ENTRY = client_order_id("s", "BTC", 1)


def trade(amount: float = 1.0, stop: float | None = 95.0) -> Trade:
    return Trade(
        strategy_id=uuid.UUID(int=1),
        subaccount=1,
        symbol="BTC",
        direction=Direction.LONG,
        entry_time=T0,
        entry_price=100.0,
        amount=amount,
        leverage=2.0,
        entry_order_id=ENTRY,
        stop=stop,
        target=110.0,
    )


def kinds(*args) -> list:
    return [(f.kind, f.subject) for f in compare(*args)]


def test_what_matches_is_adopted():
    stop = OrderRequest(
        client_order_id(ENTRY, reason=ExitReason.STOP_LOSS), 1, "BTC", Side.SELL, 1.0, True
    )
    ours = OrderRequest(client_order_id("s", "ETH", 1), 1, "ETH", Side.BUY, 2.0)
    assert (
        kinds(
            [Position("BTC", 1.0, 100.0, 95.0, 110.0)],
            [stop, ours],
            [trade()],
            {ours.client_order_id},
        )
        == []
    )


@pytest.mark.parametrize(
    ("positions", "trades", "expected"),
    [
        ([Position("ETH", -2.0, 50.0)], [], [(IssueKind.UNKNOWN_POSITION, "ETH")]),
        ([], [trade()], [(IssueKind.MISSING_POSITION, "BTC")]),
        ([Position("BTC", 0.5, 100.0, 95.0)], [trade()], [(IssueKind.SIZE_MISMATCH, "BTC")]),
        ([Position("BTC", -1.0, 100.0, 95.0)], [trade()], [(IssueKind.SIZE_MISMATCH, "BTC")]),
        ([Position("BTC", 1.0, 100.0)], [trade()], [(IssueKind.MISSING_STOP, "BTC")]),
        ([Position("BTC", 1.0, 100.0)], [trade(stop=None)], []),
        ([Position("BTC", 1.0 + 1e-9, 100.0, 95.0)], [trade()], []),
    ],
)
def test_what_does_not_match_is_found(positions, trades, expected):
    assert kinds(positions, [], trades, set()) == expected


def test_an_order_nobody_placed_is_found():
    foreign = OrderRequest("", 1, "SOL", Side.BUY, 3.0)
    assert kinds([], [foreign], [], set()) == [(IssueKind.UNKNOWN_ORDER, "SOL (no client id)")]
