"""Signs of life while the bot thinks (issue 12): real `kramar serve` (webhook mode, embedded
Postgres, demo catalog) with a model stand-in that answers after 5 s.

Rows: time from the webhook's acknowledgement of a customer's message to the first typing
indicator the Bot API stand-in receives (p50, p99 over one message in each of `CHATS` chats,
sent a little apart), and the model calls one burst of three messages costs (a question, then
"ало?" and another question while the first turn runs).
"""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from benchmarks.servers import kramar_server
from benchmarks.table import Row
from benchmarks.telegram_load import (
    HEADERS,
    WEBHOOK,
    StandIn,
    quantile,
    stand_in,
    telegram_env,
    text_update,
)
from tests.servers.openai import Answer, Hang, OpenAIServer

GROUP = "alive"
MODEL_DELAY = 5.0
CHATS = 40
SPACING = 0.05  # seconds between the chats' first messages
BURSTS = 5
ANSWER = json.dumps({"reply": "Доставка Новою поштою.", "intent": "delivery"}, ensure_ascii=False)
BURST = ("скільки коштує доставка?", "ало?", "а оплата при отриманні є?")


async def _post(client: httpx.AsyncClient, update_id: int, chat: int, text: str) -> float:
    response = await client.post(WEBHOOK, content=text_update(update_id, chat, text))
    response.raise_for_status()
    return time.monotonic()


async def _measure(base: str, telegram: StandIn, model: OpenAIServer) -> list[Row]:
    async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30) as client:
        acked: dict[int, float] = {}
        for n in range(CHATS):
            chat = 10_000 + n
            acked[chat] = await _post(client, 1_000 + n, chat, "скільки йде доставка?")
            await asyncio.sleep(SPACING)
        deadline = time.monotonic() + 30
        first: dict[int, float] = {}
        while time.monotonic() < deadline and len(first) < CHATS:
            for chat, at in telegram.actions():
                first.setdefault(chat, at)
            await asyncio.sleep(0.1)
        waits = [first[c] - acked[c] for c in acked if c in first] or [float("inf")]
        missing = CHATS - len([c for c in acked if c in first])
        # Let the slow turns finish before the burst figure counts model calls.
        await asyncio.sleep(MODEL_DELAY + 3)

        before = len(model.requests_for("gpt-bench"))
        for b in range(BURSTS):
            chat = 20_000 + b
            await _post(client, 5_000 + 10 * b, chat, BURST[0])
            await asyncio.sleep(1.0)  # the first turn is running
            for i, text in enumerate(BURST[1:], start=1):
                await _post(client, 5_000 + 10 * b + i, chat, text)
        await asyncio.sleep(2 * MODEL_DELAY + 5)
        calls = (len(model.requests_for("gpt-bench")) - before) / BURSTS
        answers = (
            sum("Доставка:" in text for chat, text in telegram.texts() if chat >= 20_000) / BURSTS
        )
    note = f"{CHATS} chats, model answers after {MODEL_DELAY:g} s; {missing} without a sign"
    return [
        Row(GROUP, "first sign of life p50", quantile(waits, 0.5) * 1000, "ms", "", note),
        Row(GROUP, "first sign of life p99", quantile(waits, 0.99) * 1000, "ms", "<= 1000 ms"),
        Row(GROUP, "model calls per burst of 3", calls, "calls", "< 3", f"{BURSTS} bursts"),
        Row(GROUP, "answers per burst of 3", answers, "answers", "< 3"),
    ]


def run() -> list[Row]:
    model = OpenAIServer()
    model.start()
    model.default("gpt-bench", Hang(MODEL_DELAY, then=Answer(ANSWER)))
    link: dict[str, object] = {"name": "stand-in", "model": "gpt-bench",
            "base_url": model.base_url, "timeout": 30, "max_retries": 0}  # fmt: skip
    try:
        with stand_in() as telegram:
            env = {
                **telegram_env(telegram.url),
                "KRAMAR_LLM_LINKS": json.dumps([link]),
                "KRAMAR_TELEGRAM_WORKERS": str(CHATS + BURSTS),
            }
            with kramar_server(None, **env) as base:
                return asyncio.run(_measure(base, telegram, model))
    finally:
        model.stop()
