"""Errors of fetching a customer's file from Telegram, apart from `app.bot.media` so that code
which only catches them (the admin panel) does not load aiogram."""

from __future__ import annotations


class DownloadFailedError(Exception):
    """Telegram did not hand over the file (getFile refused, the file route 4xx/5xx, timeout)."""
