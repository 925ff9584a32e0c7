"""Notifiers: a webhook (JSON POST) and Telegram's bot API."""
