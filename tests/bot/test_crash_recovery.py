"""A process killed (SIGKILL) after acknowledging updates loses none and doubles none."""

from __future__ import annotations

import asyncio
import signal

import httpx

from tests.bot.conftest import HEADERS
from tests.bot.processes import serve

SETTINGS = {
    "KRAMAR_TELEGRAM_WORKERS": "1",
    "KRAMAR_TELEGRAM_LEASE_SECONDS": "2",
    "KRAMAR_TELEGRAM_POLL_INTERVAL_SECONDS": "0.2",
    "KRAMAR_TELEGRAM_PER_CHAT_INTERVAL_SECONDS": "0",
}


async def test_updates_acknowledged_before_a_sigkill_are_answered_once_after_restart(
    database_url, db, telegram
):
    # The first answer hangs: the only worker is busy with chat 1 when the process dies, and
    # chat 2's update is acknowledged but not yet taken.
    telegram.hang("sendMessage", 30)
    first, base = await asyncio.to_thread(
        lambda: serve(database_url, telegram, output=None, **SETTINGS)
    )
    try:
        async with httpx.AsyncClient(base_url=base) as client:
            for chat in (1, 2):
                update = telegram.message_update(chat, "/help")
                response = await client.post("/telegram/webhook", json=update, headers=HEADERS)
                assert response.status_code == 200
            await asyncio.sleep(1.0)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert telegram.sent() == []

    second, _ = await asyncio.to_thread(
        lambda: serve(database_url, telegram, output=None, **SETTINGS)
    )
    try:
        await asyncio.to_thread(telegram.wait_for, lambda s: {m.chat_id for m in s} == {1, 2}, 20)
        await asyncio.sleep(1.5)  # anything doubled would arrive by now
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert sorted(m.chat_id for m in telegram.sent()) == [1, 2]
