"""A process killed (SIGKILL) after acknowledging updates loses none and doubles none."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.bot.conftest import HEADERS, SECRET
from tests.servers.redis import free_port
from tests.servers.telegram import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def serve(database_url, telegram) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
    env.update(
        KRAMAR_DATABASE_URL=database_url.render_as_string(hide_password=False),
        KRAMAR_TELEGRAM_BOT_TOKEN=TOKEN,
        KRAMAR_TELEGRAM_WEBHOOK_SECRET=SECRET,
        KRAMAR_TELEGRAM_API_URL=telegram.url,
        KRAMAR_PUBLIC_URL="https://shop.example",
        KRAMAR_TELEGRAM_WORKERS="1",
        KRAMAR_TELEGRAM_LEASE_SECONDS="2",
        KRAMAR_TELEGRAM_POLL_INTERVAL_SECONDS="0.2",
        KRAMAR_TELEGRAM_PER_CHAT_INTERVAL_SECONDS="0",
        KRAMAR_LOG_LEVEL="WARNING",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("kramar serve did not come up")


async def test_updates_acknowledged_before_a_sigkill_are_answered_once_after_restart(
    database_url, db, telegram
):
    # The first answer hangs: the only worker is busy with chat 1 when the process dies, and
    # chat 2's update is acknowledged but not yet taken.
    telegram.hang("sendMessage", 30)
    first, base = await asyncio.to_thread(serve, database_url, telegram)
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

    second, _ = await asyncio.to_thread(serve, database_url, telegram)
    try:
        await asyncio.to_thread(telegram.wait_for, lambda s: {m.chat_id for m in s} == {1, 2}, 20)
        await asyncio.sleep(1.5)  # anything doubled would arrive by now
    finally:
        second.terminate()
        second.wait(timeout=30)
    assert sorted(m.chat_id for m in telegram.sent()) == [1, 2]
