"""A real Alertmanager posts to the app over HTTP; its silence API gets the button presses."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.alerts.conftest import (
    ADMIN_USER,
    ALERTS_TOKEN,
    ONCALL,
    STRANGER,
    alert_settings,
    alerts_app,
    callback_update,
    served,
    wait_for,
)
from tests.bot.conftest import HEADERS
from tests.servers.alertmanager import AlertmanagerServer
from tests.servers.redis import free_port

LABELS = {
    "alertname": "KramarInboxBacklog",
    "severity": "critical",
    "namespace": "shop",
    "job": "kramar",
    "instance": "10.0.0.7:8000",
}
ANNOTATIONS = {
    "summary": "Telegram updates wait in the inbox for more than 2 minutes",
    "description": "The oldest unprocessed inbox update is 3m 10s old; a customer has been "
    "waiting that long for an answer.",
    "runbook_url": "https://github.com/kramar-shop/kramar/blob/main/docs/runbooks.md#kramarinboxbacklog",
}


@pytest.fixture(name="stack")
def fx_stack(database_url, db, telegram):
    """Alertmanager → the app under uvicorn → the Telegram stand-in."""
    port = free_port()
    webhook = f"http://127.0.0.1:{port}/alerts/alertmanager"
    with AlertmanagerServer(webhook, ALERTS_TOKEN) as alertmanager:
        settings = alert_settings(database_url, telegram, alertmanager_url=alertmanager.url)
        settings.alerts.routes = []  # everything to the on-call chat
        with served(alerts_app(settings), port) as base:
            yield alertmanager, base


async def until(condition, seconds=10.0):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(0.1)


async def test_alertmanager_fires_then_resolves_and_the_buttons_silence(stack, telegram):
    alertmanager, base = stack
    started = datetime.now(UTC) - timedelta(minutes=5)

    alertmanager.post_alert(LABELS, ANNOTATIONS, starts_at=started)
    await wait_for(telegram, lambda s: len([m for m in s if m.chat_id == ONCALL]) >= 1, 20)
    [firing] = telegram.sent(ONCALL)
    assert firing.visible.startswith("🔥 СПРАЦЮВАЛО · 🔴 critical")
    assert "KramarInboxBacklog: Telegram updates wait in the inbox" in firing.visible
    assert f"{alertmanager.url}/#/silences/new?filter=" in firing.text

    alertmanager.post_alert(
        LABELS, ANNOTATIONS, starts_at=started, ends_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await wait_for(telegram, lambda s: len([m for m in s if m.chat_id == ONCALL]) >= 2, 20)
    resolved = telegram.sent(ONCALL)[1]
    assert resolved.visible.startswith("✅ ВИРІШЕНО · 🔴 critical")
    assert "тривало 5 хв" in resolved.visible

    [row] = firing.reply_markup["inline_keyboard"]
    four_hours = row[1]["callback_data"]
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        stranger = callback_update(ONCALL, firing.message_id, four_hours, user_id=STRANGER)
        response = await client.post("/telegram/webhook", json=stranger, headers=HEADERS)
        assert response.status_code == 200
        await until(lambda: len(telegram.calls_to("answerCallbackQuery")) >= 1)
        [refusal] = telegram.calls_to("answerCallbackQuery")
        assert "not allowed" in refusal.params["text"]
        assert alertmanager.silences() == []

        allowed = callback_update(ONCALL, firing.message_id, four_hours, user_id=ADMIN_USER)
        response = await client.post("/telegram/webhook", json=allowed, headers=HEADERS)
        assert response.status_code == 200
        await wait_for(telegram, lambda s: len([m for m in s if m.chat_id == ONCALL]) >= 3)

    note = telegram.sent(ONCALL)[2]
    assert note.visible.startswith("🔕 Заглушено на 4 год")
    assert "@oncall_ivan" in note.visible and note.reply_to == firing.message_id
    [silence] = alertmanager.silences()
    assert silence["status"]["state"] == "active"
    assert silence["createdBy"] == f"@oncall_ivan (tg {ADMIN_USER})"
    matchers = {m["name"]: m["value"] for m in silence["matchers"]}
    assert matchers == LABELS
    length = datetime.fromisoformat(silence["endsAt"]) - datetime.fromisoformat(silence["startsAt"])
    assert timedelta(hours=3, minutes=59) < length <= timedelta(hours=4, seconds=1)
