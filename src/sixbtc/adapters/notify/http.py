"""One JSON POST with a timeout, its failures as NotificationFailed (never naming the URL: it may
hold a token)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from sixbtc.application.errors import NotificationFailed


def post_json(url: str, body: dict[str, Any], timeout: float, receiver: str) -> None:
    """POST ``body`` as JSON to ``url``; NotificationFailed naming ``receiver`` unless it answers
    with a 2xx status."""
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "sixbtc"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            answer.read()
    except urllib.error.HTTPError as error:
        raise NotificationFailed(f"{receiver}: answered HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise NotificationFailed(f"{receiver}: not reached ({type(reason).__name__})") from None
