"""POST /alerts/alertmanager through the running app, Telegram being the local stand-in."""

from __future__ import annotations

import asyncio
import threading

from prometheus_client import REGISTRY

from app.bot.text import TEXT_LIMIT
from tests.alerts.conftest import (
    AUTH,
    CRITICAL,
    ONCALL,
    SHOP_TEAM,
    alert,
    alert_settings,
    alerts_app,
    notification,
)
from tests.servers.telegram import utf16_length

URL = "/alerts/alertmanager"


def forwarded(status):
    return REGISTRY.get_sample_value("alerts_forwarded_total", {"status": status}) or 0.0


async def test_without_the_token_the_answer_is_401_and_nothing_is_sent(alerts_client, telegram):
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        response = await alerts_client.post(URL, json=notification(), headers=headers)
        assert response.status_code == 401
        assert "KRAMAR_ALERTS_TOKEN" in response.json()["detail"]
    assert telegram.sent() == []


async def test_garbage_gets_422_naming_the_problem(alerts_client):
    cases = [
        (b"not json", "body"),
        (b"[]", "body"),
        (b'{"status": "firing", "groupKey": "g", "alerts": []}', "alerts"),
        (b'{"status": "burning", "groupKey": "g", "alerts": [{}]}', "status"),
    ]
    for body, named in cases:
        response = await alerts_client.post(URL, content=body, headers=AUTH)
        assert response.status_code == 422, body
        assert "Alertmanager webhook" in response.json()["detail"]
        assert named in response.json()["detail"], response.json()


async def test_a_firing_alert_reaches_the_oncall_chat_with_buttons(alerts_client, telegram):
    before = forwarded("firing")
    response = await alerts_client.post(URL, json=notification(alert()), headers=AUTH)
    assert response.status_code == 200, response.text
    [message] = telegram.sent(ONCALL)
    text = message.visible
    assert text.startswith("🔥 СПРАЦЮВАЛО · 🟠 warning")
    assert "KramarInboxBacklog: Telegram updates wait in the inbox" in text
    assert "The oldest unprocessed inbox update is 3m 10s old." in text
    assert "namespace: shop" in text
    assert "з 24.11 14:03 (Київ)" in text  # 12:03 UTC is 14:03 in Kyiv in November
    assert 'href="https://github.com/kramar-shop/kramar/blob/main/docs/runbooks.md' in message.text
    assert "http://alertmanager:9093/#/silences/new?filter=%7Balertname%3D" in message.text
    [row] = message.reply_markup["inline_keyboard"]
    assert [b["text"] for b in row] == ["🔕 1 год", "4 год", "24 год"]
    assert all(len(b["callback_data"].encode()) <= 64 for b in row)
    assert forwarded("firing") == before + 1


async def test_a_resolved_alert_says_when_it_ended_and_has_no_buttons(alerts_client, telegram):
    response = await alerts_client.post(
        URL, json=notification(alert(status="resolved")), headers=AUTH
    )
    assert response.status_code == 200
    [message] = telegram.sent(ONCALL)
    assert message.visible.startswith("✅ ВИРІШЕНО · 🟠 warning")
    assert "24.11 14:03 → 14:27 (Київ), тривало 24 хв" in message.visible
    assert "silences/new" not in message.text
    assert message.reply_markup is None


async def test_html_in_labels_and_annotations_is_shown_as_text(alerts_client, telegram):
    nasty = alert(
        pod="<b>&pod",
        annotations={"summary": "a <i>b</i> & c", "runbook_url": "javascript:alert(1)"},
    )
    response = await alerts_client.post(URL, json=notification(nasty), headers=AUTH)
    assert response.status_code == 200, response.text
    [message] = telegram.sent(ONCALL)
    assert "pod: <b>&pod" in message.visible
    assert "KramarInboxBacklog: a <i>b</i> & c" in message.visible
    assert "📖 runbook: javascript:alert(1)" in message.visible  # not made a link
    assert "&lt;b&gt;&amp;pod" in message.text


async def test_a_group_is_one_message_listing_each_alert(alerts_client, telegram):
    group = notification(
        alert(pod="kramar-1"), alert(pod="kramar-2"), alert(pod="kramar-3", status="resolved")
    )
    response = await alerts_client.post(URL, json=group, headers=AUTH)
    assert response.status_code == 200
    [message] = telegram.sent(ONCALL)
    text = message.visible
    assert text.startswith("🔥 СПРАЦЮВАЛО 2 (і вирішено 1) · 🟠 warning")
    assert text.count("Telegram updates wait in the inbox") == 1  # common summary, said once
    assert "1. 🔥 pod: kramar-1" in text and "2. 🔥 pod: kramar-2" in text
    assert "3. ✅ pod: kramar-3" in text


async def test_a_sixty_alert_group_is_split_under_the_telegram_limit(alerts_client, telegram):
    group = notification(*[alert(pod=f"kramar-{n:02}-" + "x" * 40) for n in range(60)])
    response = await alerts_client.post(URL, json=group, headers=AUTH)
    assert response.status_code == 200
    messages = telegram.sent(ONCALL)
    assert len(messages) >= 2
    assert all(utf16_length(m.text) <= TEXT_LIMIT for m in messages)
    every = "\n".join(m.visible for m in messages)
    assert all(f"pod: kramar-{n:02}-" in every for n in range(60))
    assert messages[0].visible.endswith(f"(1/{len(messages)})")
    # The buttons go under the last part only.
    assert [m.reply_markup is not None for m in messages] == [False] * (len(messages) - 1) + [True]


async def test_routes_pick_chats_by_labels_and_the_rest_go_on_call(alerts_client, telegram):
    for labels in ({"team": "shop", "severity": "critical"}, {"severity": "critical"}, {}):
        payload = notification(alert(**labels), group_key=str(labels))
        response = await alerts_client.post(URL, json=payload, headers=AUTH)
        assert response.status_code == 200
    assert len(telegram.sent(SHOP_TEAM)) == 1  # first route wins, though severity matches too
    assert len(telegram.sent(CRITICAL)) == 1
    assert len(telegram.sent(ONCALL)) == 2  # the critical route's second chat, and the default
    assert "🔴 critical" in telegram.sent(CRITICAL)[0].visible


async def test_no_route_and_no_oncall_chat_is_503(database_url, db, telegram):
    from litestar.testing import AsyncTestClient

    settings = alert_settings(database_url, telegram, oncall_chat_id=None)
    async with AsyncTestClient(alerts_app(settings)) as client:
        response = await client.post(URL, json=notification(alert()), headers=AUTH)
    assert response.status_code == 503
    assert "KRAMAR_ONCALL_CHAT_ID" in response.json()["detail"]
    assert telegram.sent() == []


async def test_the_same_notification_twice_is_sent_once(alerts_client, telegram):
    payload = notification(alert())
    before = forwarded("duplicate")
    for _ in range(2):
        response = await alerts_client.post(URL, json=payload, headers=AUTH)
        assert response.status_code == 200
    assert len(telegram.sent(ONCALL)) == 1
    assert forwarded("duplicate") == before + 1


async def test_concurrent_copies_are_sent_once(alerts_client, telegram):
    payload = notification(alert())
    responses = await asyncio.gather(
        *[alerts_client.post(URL, json=payload, headers=AUTH) for _ in range(3)]
    )
    # The losers of the race get 503 (Alertmanager retries), or 200 if the winner was done.
    assert {r.status_code for r in responses} <= {200, 503}
    again = await alerts_client.post(URL, json=payload, headers=AUTH)
    assert again.status_code == 200
    assert len(telegram.sent(ONCALL)) == 1


async def test_an_alert_resolving_in_a_firing_group_is_news(alerts_client, telegram):
    one, two = alert(pod="kramar-1"), alert(pod="kramar-2")
    await alerts_client.post(URL, json=notification(one, two), headers=AUTH)
    resolved = {**two, "status": "resolved", "endsAt": "2026-11-24T12:30:00Z"}
    response = await alerts_client.post(URL, json=notification(one, resolved), headers=AUTH)
    assert response.status_code == 200
    assert len(telegram.sent(ONCALL)) == 2


async def test_a_telegram_429_is_waited_out(alerts_client, telegram):
    telegram.fail("sendMessage", 429, retry_after=1)
    response = await alerts_client.post(URL, json=notification(alert()), headers=AUTH)
    assert response.status_code == 200
    attempts = telegram.calls_to("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0


async def test_telegram_down_gets_502_and_the_retry_sends_exactly_once(alerts_client, telegram):
    before = forwarded("error")
    telegram.fail("sendMessage", 502, times=5)  # every attempt the sender makes
    payload = notification(alert())
    response = await alerts_client.post(URL, json=payload, headers=AUTH)
    assert response.status_code == 502
    assert telegram.sent() == []
    assert forwarded("error") == before + 1
    for _ in range(2):  # Alertmanager's retry, and a late duplicate of it
        response = await alerts_client.post(URL, json=payload, headers=AUTH)
        assert response.status_code == 200
    assert len(telegram.sent(ONCALL)) == 1


async def test_a_retry_after_a_partial_failure_sends_only_the_missing_parts(
    database_url, db, telegram
):
    from litestar.testing import AsyncTestClient

    from app.config import TelegramSettings

    settings = alert_settings(database_url, telegram)
    # A gap between parts, so the failure below can be scripted after the first part.
    tg = settings.telegram.model_dump()
    tg["per_chat_interval_seconds"] = 0.5
    settings = alert_settings(database_url, telegram, telegram=TelegramSettings(**tg))
    group = notification(*[alert(pod=f"kramar-{n:02}-" + "x" * 40) for n in range(60)])

    def break_telegram_after_the_first_part():
        telegram.wait_for(1, 10)
        telegram.fail("sendMessage", 400, description="Bad Request: chat not found")

    async with AsyncTestClient(alerts_app(settings)) as client:
        breaker = threading.Thread(target=break_telegram_after_the_first_part)
        breaker.start()
        response = await client.post(URL, json=group, headers=AUTH)
        breaker.join()
        assert response.status_code == 502
        assert len(telegram.sent(ONCALL)) == 1
        response = await client.post(URL, json=group, headers=AUTH)
        assert response.status_code == 200
    parts = telegram.sent(ONCALL)
    assert [p.visible.rsplit("(", 1)[-1] for p in parts] == [
        f"{n}/{len(parts)})" for n in range(1, len(parts) + 1)
    ]


async def test_the_endpoint_is_documented_in_openapi(alerts_client):
    schema = (await alerts_client.get("/schema/openapi.json")).json()
    operation = schema["paths"]["/alerts/alertmanager"]["post"]
    assert operation["operationId"] == "ReceiveAlertmanagerNotification"
