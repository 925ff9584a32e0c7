"""``TelegramNotifier``: each notification as a message of a Telegram bot to one chat
(``sendMessage`` of the bot API)."""

from __future__ import annotations

import attrs

from sixbtc.adapters.notify.http import post_json
from sixbtc.domain.notification import Notification

TELEGRAM_API = "https://api.telegram.org"


@attrs.frozen
class TelegramNotifier:
    token: str = attrs.field(repr=False)
    chat_id: str
    api_url: str = TELEGRAM_API
    timeout: float = 10.0
    name: str = "telegram"

    def send(self, notification: Notification) -> None:
        text = f"[{notification.topic}] {notification.title}\n{notification.text}"
        url = f"{self.api_url.rstrip('/')}/bot{self.token}/sendMessage"
        post_json(url, {"chat_id": self.chat_id, "text": text[:4096]}, self.timeout, self.name)
