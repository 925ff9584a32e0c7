"""The live exchange's keys: a wallet address and its private key, from the environment
(``SIXBTC_EXCHANGE_WALLET_ADDRESS``, ``SIXBTC_EXCHANGE_PRIVATE_KEY``) or from a keys file
(YAML or JSON with ``wallet_address`` and ``private_key``) named by ``SIXBTC_EXCHANGE_KEYS_FILE``
or ``exchange.keys_file``. A keys file is refused inside the working directory's git repository
(it could be committed) or when group or others may read it. The private key never shows in a
repr, a str or an error message."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from pathlib import Path

import attrs
import yaml

WALLET_VARIABLE = "SIXBTC_EXCHANGE_WALLET_ADDRESS"
KEY_VARIABLE = "SIXBTC_EXCHANGE_PRIVATE_KEY"
FILE_VARIABLE = "SIXBTC_EXCHANGE_KEYS_FILE"
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_PRIVATE_KEY = re.compile(r"(0x)?[0-9a-fA-F]{64}")


class KeysError(ValueError):
    """The keys are missing, malformed or kept unsafely; the message says what to do (and never
    holds a key)."""


@attrs.frozen(repr=False)
class PrivateKey:
    """A private key whose repr and str are redacted; :meth:`reveal` hands it to the signer."""

    _value: str

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "PrivateKey(<redacted>)"

    __str__ = __repr__


@attrs.frozen
class ExchangeKeys:
    """The wallet that owns the main account and its subaccounts, and its private key."""

    wallet_address: str
    private_key: PrivateKey

    @classmethod
    def of(cls, wallet_address: str, private_key: str, where: str) -> ExchangeKeys:
        """Checked keys; ``where`` names their source in error messages."""
        if not _ADDRESS.fullmatch(wallet_address.strip()):
            raise KeysError(f"{where}: the wallet address is not 0x and 40 hex digits")
        if not _PRIVATE_KEY.fullmatch(private_key.strip()):
            raise KeysError(f"{where}: the private key is not 64 hex digits (0x optional)")
        return cls(wallet_address.strip(), PrivateKey(private_key.strip()))


def load_keys(
    keys_file: str = "", environ: Mapping[str, str] = os.environ, cwd: Path | None = None
) -> ExchangeKeys:
    """The keys from the environment, else from the keys file; KeysError naming what to set."""
    wallet, key = environ.get(WALLET_VARIABLE, ""), environ.get(KEY_VARIABLE, "")
    if wallet or key:
        if not (wallet and key):
            missing = KEY_VARIABLE if wallet else WALLET_VARIABLE
            raise KeysError(f"exchange keys: {missing} is not set; set both or neither")
        return ExchangeKeys.of(wallet, key, "the environment")
    path = environ.get(FILE_VARIABLE, "") or keys_file
    if not path:
        raise KeysError(
            f"exchange keys: none given; set {WALLET_VARIABLE} and {KEY_VARIABLE}, or name a keys "
            f"file (wallet_address, private_key) in {FILE_VARIABLE} or exchange.keys_file"
        )
    return _from_file(Path(path).expanduser(), cwd or Path.cwd())


def _from_file(path: Path, cwd: Path) -> ExchangeKeys:
    if not path.is_file():
        raise KeysError(f"exchange keys file {path}: not found")
    repository = _repository(cwd)
    if repository is not None and path.resolve().is_relative_to(repository):
        raise KeysError(
            f"exchange keys file {path}: inside the git repository {repository}, where it could "
            "be committed; keep it outside"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeysError(f"exchange keys file {path}: group or others may read it; chmod 600 {path}")
    try:
        content = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        raise KeysError(f"exchange keys file {path}: not YAML or JSON") from None
    if not isinstance(content, dict) or not {"wallet_address", "private_key"} <= content.keys():
        raise KeysError(f"exchange keys file {path}: expected wallet_address and private_key")
    return ExchangeKeys.of(
        str(content["wallet_address"]), str(content["private_key"]), f"exchange keys file {path}"
    )


def _repository(cwd: Path) -> Path | None:
    """The root of the git repository holding ``cwd``, if any."""
    for folder in (cwd.resolve(), *cwd.resolve().parents):
        if (folder / ".git").exists():
            return folder
    return None
