"""The live exchange's keys: from the environment or a private keys file outside the repository,
refused with a message naming what to set, the private key never shown; the configuration refuses
any secret."""

from __future__ import annotations

import json

import pytest

from sixbtc.adapters.ccxt.keys import (
    FILE_VARIABLE,
    KEY_VARIABLE,
    WALLET_VARIABLE,
    KeysError,
    load_keys,
)
from sixbtc.config import ConfigError, from_mapping

WALLET = "0x" + "a1" * 20
KEY = "0x" + "5ec2e7" * 10 + "5ec2"


def keys_file(folder, mode: int = 0o600, content: dict | None = None):
    path = folder / "keys.json"
    path.write_text(json.dumps(content or {"wallet_address": WALLET, "private_key": KEY}))
    path.chmod(mode)
    return path


def test_keys_come_from_the_environment_and_the_key_is_redacted(tmp_path):
    keys = load_keys(environ={WALLET_VARIABLE: WALLET, KEY_VARIABLE: KEY}, cwd=tmp_path)
    assert keys.wallet_address == WALLET and keys.private_key.reveal() == KEY
    for shown in (repr(keys), str(keys), repr(keys.private_key), str(keys.private_key)):
        assert "5ec2e7" not in shown


def test_keys_come_from_a_private_file_outside_the_repository(tmp_path):
    path = keys_file(tmp_path)
    assert load_keys(str(path), environ={}, cwd=tmp_path).private_key.reveal() == KEY
    assert load_keys(environ={FILE_VARIABLE: str(path)}, cwd=tmp_path).wallet_address == WALLET


def test_missing_keys_name_what_to_set(tmp_path):
    with pytest.raises(KeysError, match=f"{WALLET_VARIABLE} and {KEY_VARIABLE}.*keys_file"):
        load_keys(environ={}, cwd=tmp_path)
    with pytest.raises(KeysError, match=f"{KEY_VARIABLE} is not set"):
        load_keys(environ={WALLET_VARIABLE: WALLET}, cwd=tmp_path)


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: keys_file(d, 0o644), "group or others may read it; chmod 600"),
        (lambda d: (d / ".git").mkdir() or keys_file(d), "inside the git repository"),
        (
            lambda d: keys_file(d, content={"wallet_address": WALLET}),
            "wallet_address and private_key",
        ),
        (
            lambda d: keys_file(d, content={"wallet_address": WALLET, "private_key": KEY[:-2]}),
            "not 64 hex",
        ),
        (
            lambda d: keys_file(d, content={"wallet_address": "0x12", "private_key": KEY}),
            "wallet address",
        ),
    ],
)
def test_an_unsafe_or_malformed_keys_file_is_refused_without_showing_the_key(
    tmp_path, setup, message
):
    path = setup(tmp_path)
    with pytest.raises(KeysError, match=message) as refused:
        load_keys(str(path), environ={}, cwd=tmp_path)
    assert "5ec2e7" not in str(refused.value)


def test_the_configuration_refuses_secrets_and_checks_subaccount_addresses():
    for key in ("private_key", "secret", "api_key"):
        with pytest.raises(
            ConfigError, match=f"exchange.{key}: a secret.*environment.*keys file"
        ) as refused:
            from_mapping({"exchange": {key: KEY}})
        assert "5ec2e7" not in str(refused.value)
    with pytest.raises(ConfigError, match=r"exchange\.subaccounts"):
        from_mapping({"exchange": {"subaccounts": ["0x12"]}})
    settings = from_mapping({"exchange": {"mode": "live", "subaccounts": [WALLET]}}).exchange
    assert (settings.subaccounts, settings.slippage, settings.timeout_seconds) == (
        (WALLET,),
        0.05,
        10,
    )
