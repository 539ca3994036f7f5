"""A process killed (SIGKILL) after acknowledging updates loses none and doubles none, and a
turn killed between its replies sends only the ones not yet recorded when it runs again."""

from __future__ import annotations

import asyncio
import signal

import httpx

from tests.bot.conftest import HEADERS, MANAGERS, wait_for
from tests.bot.processes import serve
from tests.bot.test_conversation import Customer, buttons, said

WEBHOOK = "/telegram/webhook"
SETTINGS = {
    "KRAMAR_TELEGRAM_WORKERS": "1",
    "KRAMAR_TELEGRAM_LEASE_SECONDS": "2",
    "KRAMAR_TELEGRAM_POLL_INTERVAL_SECONDS": "0.2",
    "KRAMAR_TELEGRAM_PER_CHAT_INTERVAL_SECONDS": "0",
}


async def test_a_sigkill_mid_turn_loses_nothing_and_resends_no_reply_that_was_recorded(
    database_url, db, telegram, demo_catalog
):
    """The ✅ under an order's summary sends the customer's confirmation, then the managers'
    notice. The process dies while the notice is on its way (the confirmation delivered and
    recorded), with two more chats' updates acknowledged but not yet taken (its only worker is
    busy). After the restart the killed turn runs again and sends the notice only (it sent the
    confirmation a second time before), and the other two chats are answered once each."""
    settings = {**SETTINGS, "KRAMAR_MANAGER_CHAT_ID": str(MANAGERS)}
    first, base = await asyncio.to_thread(
        lambda: serve(database_url, telegram, output=None, **settings)
    )
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            olena = Customer(client, telegram, 541)
            summary = await olena.orders_the_demo_suit()
            before = len(telegram.sent())
            # The confirmation is held a second, meanwhile the notice after it is set to hang.
            telegram.delay("sendMessage", 1.0)
            press = olena.press_update(buttons(summary)[0])
            assert (await client.post(WEBHOOK, json=press, headers=HEADERS)).status_code == 200
            while telegram._delays["sendmessage"]:  # noqa: ASYNC110 (the stand-in is threaded)
                await asyncio.sleep(0.01)
            telegram.hang("sendMessage", 30)
            await wait_for(telegram, lambda _: "прийнято" in said(telegram.sent(541)[-1]), 20)
            for chat in (1, 2):
                update = telegram.message_update(chat, "/help")
                response = await client.post(WEBHOOK, json=update, headers=HEADERS)
                assert response.status_code == 200
            await asyncio.sleep(0.5)  # recorded as sent: one statement after the send
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    new = [(m.chat_id, m.method) for m in telegram.sent()[before:]]
    assert [m for m in new if m[1] == "sendMessage"] == [(541, "sendMessage")], new

    second, _ = await asyncio.to_thread(
        lambda: serve(database_url, telegram, output=None, **settings)
    )
    try:
        answered = {1, 2, MANAGERS}
        await wait_for(telegram, lambda sent: answered <= {m.chat_id for m in sent}, 20)
        await asyncio.sleep(1.5)  # anything doubled would arrive by now
    finally:
        second.terminate()
        second.wait(timeout=30)
    confirmations = [m for m in telegram.sent(541) if "прийнято" in said(m)]
    assert len(confirmations) == 1, [said(m) for m in telegram.sent(541)]
    [notice] = telegram.sent(MANAGERS)
    assert "Нове замовлення" in said(notice)
    assert sorted(m.chat_id for m in telegram.sent() if m.chat_id in (1, 2)) == [1, 2]
