"""The webhook and Telegram notifiers against a local HTTP receiver: what they send, and their
failures said without the URL or the token."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sixbtc.adapters.notify.telegram import TelegramNotifier
from sixbtc.adapters.notify.webhook import WebhookNotifier
from sixbtc.application.errors import NotificationFailed
from sixbtc.domain.notification import Notification, Topic

TOKEN = "123456:SECRET-token-never-shown"
MESSAGE = Notification(
    Topic.HALT, "trading halt: operator", "maintenance", datetime(2026, 1, 1, tzinfo=UTC)
)


class Receiver(ThreadingHTTPServer):
    """Records each POST (path, JSON body) and answers with ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[str, dict]] = []
        self.status = 200
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, body))
        self.send_response(self.server.status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_webhook_posts_topic_title_text_and_time(receiver):
    WebhookNotifier(f"{receiver.url}/hooks/abc").send(MESSAGE)
    assert receiver.received == [
        (
            "/hooks/abc",
            {
                "topic": "halt",
                "title": "trading halt: operator",
                "text": "maintenance",
                "at": "2026-01-01T00:00:00+00:00",
            },
        )
    ]


def test_telegram_sends_to_its_chat_through_the_bot_api(receiver):
    TelegramNotifier(TOKEN, "-1001", api_url=receiver.url).send(MESSAGE)
    assert receiver.received == [
        (
            f"/bot{TOKEN}/sendMessage",
            {"chat_id": "-1001", "text": "[halt] trading halt: operator\nmaintenance"},
        )
    ]


def test_failures_name_the_receiver_never_its_token(receiver):
    receiver.status = 500
    notifier = TelegramNotifier(TOKEN, "-1001", api_url=receiver.url)
    with pytest.raises(NotificationFailed, match="telegram: answered HTTP 500") as refused:
        notifier.send(MESSAGE)
    receiver.server_close()
    with pytest.raises(NotificationFailed, match="telegram: not reached") as unreached:
        TelegramNotifier(TOKEN, "-1001", api_url="http://127.0.0.1:9", timeout=2).send(MESSAGE)
    for error in (refused.value, unreached.value):
        assert "SECRET" not in str(error) and "SECRET" not in repr(error)
    assert "SECRET" not in repr(notifier)


def test_the_notifier_service_refuses_to_start_without_a_receiver_or_a_token(
    sqlite_url, monkeypatch, capsys
):
    from sixbtc.adapters.sqlalchemy import migrations
    from sixbtc.entrypoints.cli import main

    monkeypatch.setenv("SIXBTC_DATABASE__URL", sqlite_url)
    migrations.upgrade(sqlite_url, "head")
    assert main(["service", "notifier", "--once"]) == 2
    assert "notifier: nothing to do with this configuration" in capsys.readouterr().err
    monkeypatch.setenv("SIXBTC_NOTIFICATIONS__TELEGRAM_CHAT_ID", "-1001")
    monkeypatch.delenv("SIXBTC_TELEGRAM_TOKEN", raising=False)
    assert main(["service", "notifier", "--once"]) == 2
    assert "expected the bot's token in the environment variable SIXBTC_TELEGRAM_TOKEN" in (
        capsys.readouterr().err
    )
    monkeypatch.setenv("SIXBTC_TELEGRAM_TOKEN", TOKEN)
    assert main(["service", "notifier", "--once"]) == 0
