"""``WebhookNotifier``: each notification as a JSON POST ``{topic, title, text, at}`` to a URL
(Slack, Discord, ntfy, a home-made receiver...)."""

from __future__ import annotations

import attrs

from sixbtc.adapters.notify.http import post_json
from sixbtc.domain.notification import Notification


@attrs.frozen
class WebhookNotifier:
    url: str = attrs.field(repr=False)
    timeout: float = 10.0
    name: str = "webhook"

    def send(self, notification: Notification) -> None:
        body = {
            "topic": notification.topic.value,
            "title": notification.title,
            "text": notification.text,
            "at": notification.at.isoformat(),
        }
        post_json(self.url, body, self.timeout, self.name)
