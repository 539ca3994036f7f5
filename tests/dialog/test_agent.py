"""The text agent on a model (the OpenAI stand-in over HTTP), on the offline rules, and when
models are down; and the vision model's question, all through the price guard."""

from __future__ import annotations

import json

import pytest

from app.config import LLMSettings
from app.dialog.agent import TextAgent
from app.dialog.offline import OfflineAgent
from app.rag.embedders import HashingEmbedder
from app.rag.search import retrieve
from tests.dialog.conftest import Shopper, seen, shop
from tests.llm.factories import chain, link
from tests.servers.openai import Answer, Fail, OpenAIServer
from tests.vision.test_model_step import customer_photo


@pytest.fixture(name="openai")
def fx_openai():
    server = OpenAIServer()
    server.start()
    yield server
    server.stop()


def answer(**fields) -> Answer:
    return Answer(json.dumps(fields, ensure_ascii=False))


async def agent(services, model_chain=None) -> TextAgent:
    embedder = HashingEmbedder()

    async def top(query: str, k: int):
        return await retrieve(services.db.session_factory, embedder, query, k=k)

    cards = services.product_cache.get
    return TextAgent(model_chain, OfflineAgent(top, cards), top, cards, shop=services.shop.get)


async def test_a_model_reply_loses_invented_prices_and_products_outside_its_context(
    services, openai
):
    openai.default(
        "gpt",
        answer(
            reply="Мрія для вас коштує 1 200 грн. Є розміри S і M.",
            skus=["KR-KS-001", "KR-FAKE-001"],
            intent="price",
        ),
    )
    model_chain = chain(link(openai, "gpt", max_retries=0))
    try:
        said = await (await agent(services, model_chain)).respond("скільки коштує Мрія?")
    finally:
        await model_chain.close()
    assert (said.source, said.reply.text, said.reply.skus) == (
        "model",
        "Є розміри S і M.",
        ["KR-KS-001"],
    )


async def test_a_reply_that_was_only_a_promise_becomes_a_question(services, openai):
    openai.default("gpt", answer(reply="Сьогодні знижка 50% на все!", intent="other"))
    model_chain = chain(link(openai, "gpt", max_retries=0))
    try:
        said = await (await agent(services, model_chain)).respond("а є знижки?")
    finally:
        await model_chain.close()
    assert said.reply.text == "Підкажіть, будь ласка, детальніше?"


async def test_without_a_model_the_offline_agent_answers_from_the_card(services):
    said = await (await agent(services)).respond("скільки коштує KR-KS-002")
    assert said.source == "offline" and "1\xa0650\xa0грн" in said.reply.text


async def test_when_models_are_down_and_the_rules_cannot_tell_a_person_takes_over(services, openai):
    openai.default("gpt", Fail(500))
    model_chain = chain(link(openai, "gpt", max_retries=0))
    try:
        said = await (await agent(services, model_chain)).respond("ну ок")
    finally:
        await model_chain.close()
    assert (said.source, said.reason, said.reply.escalate) == ("handoff", "model_down", True)


async def test_the_vision_models_question_passes_the_price_guard(database_url, db, demo_catalog):
    openai = OpenAIServer()
    openai.start()
    try:
        settings = LLMSettings(links=[link(openai, "gpt", max_retries=0)])
        openai.script(
            "gpt",
            answer(description="рожевий костюм з блискавкою"),
            answer(
                sku=None,
                confidence=0.2,
                question="Це костюм за 99 грн зі знижкою? Чи, може, худі?",
            ),
        )
        async with shop(database_url, llm=settings) as services:
            olena = Shopper(services.conversation, 801)
            replies = await services.conversation.photos(olena.me, [customer_photo()], None)
    finally:
        openai.stop()
    assert seen(replies) == "Чи, може, худі?"
