"""A CcxtExchange on the fake Hyperliquid: a main wallet with two subaccounts, short timeouts and
no waiting between retries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.fakes.hyperliquid import FIXTURES, FakeHyperliquid, markets

from sixbtc.adapters.ccxt.exchange import CcxtExchange, hyperliquid_client
from sixbtc.adapters.ccxt.journal import InMemoryTransferJournal, TransferJournal
from sixbtc.adapters.ccxt.keys import ExchangeKeys
from sixbtc.adapters.clock import SystemClock

WALLET = "0x" + "a1" * 20
SUBACCOUNTS = ("0x" + "b2" * 20, "0x" + "c3" * 20)
#: A recognisable private key (valid for secp256k1) that must never show anywhere.
KEY = "0x" + "5ec2e7" * 10 + "5ec2"
FEE = 0.0005


@pytest.fixture
def fake() -> Iterator[FakeHyperliquid]:
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/ccxt (ccxt's market snapshot) is not present")
    with FakeHyperliquid(WALLET, fee=FEE) as venue:
        venue.deposit(WALLET, 10_000)
        yield venue


def live_exchange(fake: FakeHyperliquid, journal: TransferJournal | None = None) -> CcxtExchange:
    keys = ExchangeKeys.of(WALLET, KEY, "test")
    client = hyperliquid_client(keys, api_url=fake.url, timeout_seconds=0.3, rate_limit=False)
    client.set_markets(markets())
    return CcxtExchange(
        client,
        SUBACCOUNTS,
        journal or InMemoryTransferJournal(),
        SystemClock(),
        backoff_seconds=0.0,
    )


@pytest.fixture
def exchange(fake: FakeHyperliquid) -> CcxtExchange:
    return live_exchange(fake)
