"""Hundreds of clients that send their requests slowly cannot hold `kramar serve`: each is cut
at the request deadline (408, closed) and an honest request is answered meanwhile."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx

from tests.bot.conftest import SECRET
from tests.bot.processes import serve

SLOW = 400
DEADLINE = 1.0


async def _slow_client(port: int) -> tuple[bytes, float]:
    """Promise a body of 1,000 bytes and send one byte every 0.2 s; what came back, and when."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(
        b"POST /telegram/webhook HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
        # With the right secret, so the webhook waits for the body instead of refusing at once.
        b"X-Telegram-Bot-Api-Secret-Token: " + SECRET.encode() + b"\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    answer = b""
    try:
        while not reader.at_eof() and time.monotonic() - started < 10:
            writer.write(b" ")
            try:
                answer += await asyncio.wait_for(reader.read(4096), 0.2)
            except TimeoutError:
                continue
            if not answer:
                break
    except OSError:
        pass  # the server closed the connection under us: what it should do
    finally:
        writer.close()
    return answer, time.monotonic() - started


async def test_four_hundred_slow_bodies_are_cut_at_the_deadline_and_others_served(
    database_url, db, telegram
):
    proc, base = await asyncio.to_thread(
        lambda: serve(
            database_url,
            telegram,
            KRAMAR_HTTP_REQUEST_TIMEOUT_SECONDS=f"{DEADLINE:g}",
            KRAMAR_TELEGRAM_WORKERS="0",
        )
    )
    try:
        port = int(base.rsplit(":", 1)[1])
        slow = [asyncio.create_task(_slow_client(port)) for _ in range(SLOW)]
        await asyncio.sleep(0.3)
        async with httpx.AsyncClient(base_url=base) as client:
            started = time.monotonic()
            live = await client.get("/health/live", timeout=5)
            honest = time.monotonic() - started
        results = await asyncio.gather(*slow)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait, 30)

    assert live.status_code == 200 and honest < 2.0
    cut = [seconds for answer, seconds in results if answer.startswith(b"HTTP/1.1 408")]
    others = Counter((a[:30], round(t)) for a, t in results if not a.startswith(b"HTTP/1.1 408"))
    assert len(cut) == SLOW, f"not answered 408: {others}"
    assert max(cut) < DEADLINE + 4, max(cut)
