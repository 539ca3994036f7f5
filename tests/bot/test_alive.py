"""Never silent while thinking: a typing indicator at once, a holding message when the answer is
slow, and messages sent while a turn runs answered together. Through the webhook, the inbox
worker and the real dispatcher, with a model stand-in that answers late."""

from __future__ import annotations

import asyncio
import time

from litestar.testing import AsyncTestClient

from app.config import LinkSettings, LLMSettings
from app.dialog.texts import HOLDING
from app.server import create_app
from tests.bot.conftest import HEADERS, bot_settings, wait_for
from tests.servers.openai import Answer, Hang, OpenAIServer

DELIVERY = '{"reply": "Доставка Новою поштою.", "intent": "delivery"}'


def slow_shop(database_url, telegram, openai, *, holding: float, interval: float = 0.3):
    link = LinkSettings(name="primary", model="gpt-test", base_url=openai.base_url)
    settings = bot_settings(database_url, telegram, llm=LLMSettings(links=[link]))
    telegram_settings = settings.telegram.model_copy(
        update={"holding_seconds": holding, "typing_interval_seconds": interval, "burst_max": 10}
    )
    return create_app(settings.model_copy(update={"telegram": telegram_settings}))


async def post(client, update) -> float:
    """Post `update` to the webhook; the time it was acknowledged."""
    response = await client.post("/telegram/webhook", json=update, headers=HEADERS)
    assert response.status_code == 200
    return time.monotonic()


def typing_in(telegram, chat_id: int) -> list[float]:
    return [
        call.at
        for call in telegram.calls_to("sendChatAction")
        if int(call.params["chat_id"]) == chat_id and call.params["action"] == "typing"
    ]


async def test_a_slow_answer_shows_typing_at_once_and_one_holding_message(
    database_url, db, telegram, demo_catalog
):
    openai = OpenAIServer()
    openai.start()
    try:
        openai.default("gpt-test", Hang(1.5, Answer(DELIVERY)))
        app = slow_shop(database_url, telegram, openai, holding=0.5)
        async with AsyncTestClient(app) as client:
            sent_at = await post(client, telegram.message_update(801, "скільки йде доставка?"))
            await wait_for(telegram, lambda s: any("Доставка:" in (m.text or "") for m in s))
    finally:
        openai.stop()

    typing = typing_in(telegram, 801)
    assert typing and typing[0] - sent_at < 1.0  # a sign of life within a second
    assert len(typing) >= 3  # renewed while the model thinks (1.5 s, every 0.3 s)
    texts = [m.text for m in telegram.sent(801)]
    assert texts.count(HOLDING) == 1 and texts.index(HOLDING) < len(texts) - 1


async def test_messages_sent_while_a_turn_runs_get_one_answer_and_one_model_call(
    database_url, db, telegram, demo_catalog
):
    """Every message was its own turn: "ало?" and a question sent while the bot thought cost
    three model calls and three answers for one burst of three messages."""
    openai = OpenAIServer()
    openai.start()
    try:
        openai.default("gpt-test", Hang(1.0, Answer(DELIVERY)))
        app = slow_shop(database_url, telegram, openai, holding=0)
        async with AsyncTestClient(app) as client:
            await post(client, telegram.message_update(802, "скільки коштує доставка?"))
            await asyncio.to_thread(
                telegram.wait_for, lambda _: bool(typing_in(telegram, 802)), 5.0
            )  # the first turn runs
            await post(client, telegram.message_update(802, "ало?"))
            await post(client, telegram.message_update(802, "а оплата при отриманні є?"))

            def answers(_: object) -> int:
                return sum("Доставка:" in (m.text or "") for m in telegram.sent(802))

            await wait_for(telegram, lambda s: answers(s) >= 2)
            await asyncio.sleep(1.5)  # time enough for a third answer, were there one
    finally:
        openai.stop()

    asked = openai.requests_for("gpt-test")
    assert len(asked) == 2 and answers(None) == 2
    assert asked[1].messages[-1]["content"] == "ало?\nа оплата при отриманні є?"
