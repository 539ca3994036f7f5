"""The same free text with a model configured (the OpenAI stand-in), through the real
dispatcher: the model says what the customer wants, the shop section and the stock say what is
true. A shop answer is never the model's words, a stock answer never a card alone."""

from __future__ import annotations

import io
import json

import pytest

from app.bot.terminal import TerminalChat, terminal_settings
from app.config import LinkSettings, LLMSettings
from app.services import open_services
from tests.servers.openai import Answer, Fail, OpenAIServer


def said(**fields) -> Answer:
    return Answer(json.dumps(fields, ensure_ascii=False))


@pytest.fixture(name="openai")
def fx_openai():
    server = OpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="chat")
async def fx_chat(settings, demo_catalog, openai):
    link = LinkSettings(name="primary", model="gpt-test", base_url=openai.base_url, max_retries=0)
    shop = terminal_settings(settings).model_copy(update={"llm": LLMSettings(links=[link])})
    async with open_services(shop) as services:
        out = io.StringIO()
        terminal = TerminalChat(services, out, chat_id=5001)

        async def says(line: str) -> str:
            start = len(out.getvalue())
            await terminal.say(line)
            return out.getvalue()[start:].replace("\xa0", " ")

        yield says


async def test_a_delivery_question_is_answered_from_the_shop_not_the_models_words(chat, openai):
    openai.script("gpt-test", said(reply="Доставка коштує 30 грн, завтра!", intent="delivery"))
    answer = await chat("скільки коштує доставка?")
    assert "30 грн" not in answer and "завтра" not in answer
    assert "Нова Пошта, відділення: 80 грн" in answer and "[фото]" not in answer


async def test_a_follow_up_stock_question_is_answered_from_stock_for_the_product_in_focus(
    chat, openai
):
    openai.script(
        "gpt-test",
        said(reply="Ось худі «Вайб».", skus=["KR-HD-001"], intent="product"),
        said(
            reply="Так, є!",
            skus=["KR-HD-001"],
            intent="stock",
            action="check_stock",
            size="M",
            colour="сірий",
        ),
    )
    assert "[фото] Худі «Вайб»" in await chat("покажіть худі вайб")
    answer = await chat("а сірий M є?")
    # The model said "yes"; grey M is 0 in the database.
    assert "Худі «Вайб», сірий, M — немає" in answer and "Так, є!" not in answer
    assert "[фото]" not in answer
    [_, second] = openai.requests_for("gpt-test")
    assert "KR-HD-001" in second.messages[0]["content"]  # the product in focus is in context


async def test_with_the_model_down_the_offline_agent_answers_the_same_questions(chat, openai):
    openai.default("gpt-test", Fail(500))
    assert "Повернення й обмін" in await chat("а можна повернути товар?")
    answer = await chat("у вас є шапки або шарфи?")
    assert "немає" in answer and "[фото]" not in answer


async def test_the_model_choosing_to_buy_with_a_typed_size_goes_to_the_colour_step(chat, openai):
    openai.script(
        "gpt-test",
        said(
            reply="Чудово!",
            skus=["KR-HD-001"],
            intent="order",
            action="add_to_order",
            size="xl",
        ),
    )
    answer = await chat("хочу худі вайб xl")
    assert "Розмір XL. Оберіть колір" in answer
    assert "Відкладаю" in await chat("чорний")  # typed, like the button: no model call
    assert len(openai.requests_for("gpt-test")) == 1
