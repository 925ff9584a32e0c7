"""Notifications: what the factory tells its operator, by topic, never with a secret in them."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from datetime import datetime

import attrs


class Topic(enum.StrEnum):
    """What a notification is about; the values are the labels receivers see."""

    ROTATION = "rotation"
    RETIREMENT = "retirement"
    FILL = "fill"
    HALT = "halt"
    STALE_DATA = "stale_data"
    SERVICE_ERROR = "service_error"
    DIGEST = "digest"


@attrs.frozen
class Notification:
    """One message: its topic, a one-line title and the text."""

    topic: Topic = attrs.field(converter=Topic)
    title: str
    text: str
    at: datetime


#: What a private key looks like (64 hex digits, with or without 0x): never sent anywhere.
_KEY_LIKE = re.compile(r"\b(0x)?[0-9a-fA-F]{64}\b")
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every given secret, and anything shaped like a private key, replaced."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _KEY_LIKE.sub(REDACTED, text)


def redacted(notification: Notification, secrets: Iterable[str] = ()) -> Notification:
    """The notification with its title and text redacted."""
    secrets = tuple(secrets)
    return attrs.evolve(
        notification,
        title=redact(notification.title, secrets),
        text=redact(notification.text, secrets),
    )
