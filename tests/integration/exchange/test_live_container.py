"""``exchange.mode: live`` builds CcxtExchange from the configuration and the keys of the
environment (refusing to start without them), with transfers journalled in the database; the
private key shows in no log, error or repr."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import attrs
import pytest
import sqlalchemy as sa
from tests.fakes.hyperliquid import markets
from tests.integration.exchange.conftest import KEY, SUBACCOUNTS, WALLET
from tests.integration.exchange.test_ccxt_exchange import PARAMETERS

from sixbtc.adapters.ccxt.exchange import CcxtExchange
from sixbtc.adapters.ccxt.journal import JournalEntry, SqlAlchemyTransferJournal
from sixbtc.adapters.ccxt.keys import KEY_VARIABLE, WALLET_VARIABLE
from sixbtc.adapters.sqlalchemy import migrations
from sixbtc.application.errors import ExchangeError
from sixbtc.config import Config, ConfigError, DatabaseConfig, ExchangeConfig
from sixbtc.containers import build
from sixbtc.domain.orders import OrderRequest, Protection, Side, client_order_id


def live_config(url: str, api_url: str) -> Config:
    exchange = ExchangeConfig(
        mode="live", subaccounts=SUBACCOUNTS, api_url=api_url, timeout_seconds=0.3
    )
    return attrs.evolve(Config(), database=DatabaseConfig(url=url), exchange=exchange)


def test_live_mode_trades_through_ccxt_and_journals_transfers_in_the_database(
    fake, sqlite_url, monkeypatch
):
    migrations.upgrade(sqlite_url)
    monkeypatch.setenv(WALLET_VARIABLE, WALLET)
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    container = build(live_config(sqlite_url, fake.url))
    try:
        exchange = container.exchange()
        assert isinstance(exchange, CcxtExchange)
        exchange.client.enableRateLimit = False
        exchange.client.set_markets(markets())
        exchange.transfer(2, 250.0, "fund-2")
        exchange.transfer(2, 250.0, "fund-2")
        assert exchange.equity(2) == 250.0
        assert exchange.journal.find("fund-2").done
    finally:
        container.engine().dispose()


def test_live_mode_refuses_to_start_without_keys(sqlite_url, monkeypatch):
    for name in (WALLET_VARIABLE, KEY_VARIABLE, "SIXBTC_EXCHANGE_KEYS_FILE"):
        monkeypatch.delenv(name, raising=False)
    container = build(live_config(sqlite_url, "http://127.0.0.1:9"))
    with pytest.raises(ConfigError, match=f"{WALLET_VARIABLE} and {KEY_VARIABLE}"):
        container.exchange()
    no_subaccounts = attrs.evolve(live_config(sqlite_url, ""), exchange=ExchangeConfig(mode="live"))
    with pytest.raises(ConfigError, match=r"exchange\.subaccounts: empty"):
        build(no_subaccounts).exchange()


def test_the_journal_keeps_transfers_in_the_database(sqlite_url):
    migrations.upgrade(sqlite_url)

    engine = sa.create_engine(sqlite_url)
    journal = SqlAlchemyTransferJournal(engine)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert journal.find("t-1") is None
    journal.begin(JournalEntry("t-1", 1, -12.5, at))
    assert journal.find("t-1") == JournalEntry("t-1", 1, -12.5, at, done=False)
    journal.done("t-1")
    assert journal.find("t-1").done
    engine.dispose()


def test_the_private_key_shows_in_no_log_error_or_repr(fake, exchange, caplog):
    caplog.set_level(logging.DEBUG)
    exchange.client.verbose = False
    fake.set_price("SOL", 100.0)
    exchange.transfer(1, 500.0, "fund-1")
    entry = OrderRequest(client_order_id("leak", 1), 1, "SOL", Side.BUY, 1.0)
    exchange.place_order(entry, Protection(PARAMETERS))
    errors = []
    fake.faults.reject(n=1, message="Insufficient margin to place order. asset=5")
    fake.faults.drop(n=1, on="clearinghouseState")
    for call in (
        lambda: exchange.place_order(
            OrderRequest(client_order_id("leak", 2), 1, "SOL", Side.BUY, 1.0),
            Protection(PARAMETERS),
        ),
        lambda: exchange.equity(1),
        lambda: exchange.transfer(2, -5.0, "empty"),
    ):
        with pytest.raises(ExchangeError) as raised:
            call()
        errors.append(raised.value)
    fake.stop()
    with pytest.raises(ExchangeError) as raised:
        exchange.positions(1)
    errors.append(raised.value)
    shown = [caplog.text, repr(exchange), str(exchange.__dict__), repr(exchange.client.__class__)]
    shown += [f"{e!r} {e} {e.__cause__!r} {e.__cause__}" for e in errors]
    secret = KEY.removeprefix("0x")
    assert all(secret not in text and secret[:12] not in text for text in shown)
    assert "DEBUG" in caplog.text  # ccxt's request logging was on
