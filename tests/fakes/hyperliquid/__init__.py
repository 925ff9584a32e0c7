"""A fake Hyperliquid for tests: a local HTTP server speaking ``/info`` and ``/exchange`` as ccxt
4.5.90's ``hyperliquid`` class calls them (:mod:`.server`), over a venue of accounts, orders and
prices (:mod:`.venue`), and the markets of ccxt's own snapshot for a client pointed at it."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from tests.fakes.hyperliquid.server import FakeHyperliquid, Faults, serving
from tests.fakes.hyperliquid.venue import Clock, Venue

#: ccxt's recordings and market snapshots, beside the repository (``../shared/fixtures/ccxt``).
FIXTURES = Path(__file__).parents[3] / ".." / "shared" / "fixtures" / "ccxt"


@cache
def _snapshot() -> dict[str, Any]:
    return json.loads((FIXTURES / "markets" / "hyperliquid.json").read_text())


def markets() -> list[dict[str, Any]]:
    """ccxt's Hyperliquid market snapshot, adjusted for ccxt 4.5.90 as the fixtures' README says
    (perpetuals send ``baseName``, the spot market its name), for ``exchange.set_markets``."""
    found = copy.deepcopy(_snapshot())
    for market in found.values():
        if market["swap"]:
            market["baseName"] = market["info"]["name"]
        else:
            market["id"] = market["info"]["name"]
    return list(found.values())


__all__ = ["FIXTURES", "Clock", "FakeHyperliquid", "Faults", "Venue", "markets", "serving"]
