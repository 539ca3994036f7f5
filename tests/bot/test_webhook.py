"""The webhook end to end: real Update JSON in, the Telegram stand-in's record out."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.bot.conftest import HEADERS, MANAGERS, wait_for
from tests.fixtures_demo import demo_photo


async def test_start_registers_the_webhook_once_with_the_secret(bot_client, telegram):
    [call] = telegram.calls_to("setWebhook")
    assert call.params["url"] == "https://shop.example/telegram/webhook"
    assert call.params["secret_token"] == "webhook-secret-42"
    assert "message" in call.params["allowed_updates"]
    assert "callback_query" in call.params["allowed_updates"]


async def test_a_wrong_secret_gets_403_and_nothing_is_stored(bot_client, telegram, db):
    update = telegram.message_update(1, "привіт")
    for headers in ({"X-Telegram-Bot-Api-Secret-Token": "nope"}, {}):
        response = await bot_client.post("/telegram/webhook", json=update, headers=headers)
        assert response.status_code == 403
    async with db.connect() as conn:
        assert await conn.scalar(text("SELECT count(*) FROM telegram_inbox")) == 0


async def test_start_is_answered_in_ukrainian(bot_client, telegram):
    response = await bot_client.post(
        "/telegram/webhook", json=telegram.message_update(7, "/start"), headers=HEADERS
    )
    assert response.status_code == 200
    [reply] = await wait_for(telegram, 1)
    assert reply.chat_id == 7 and "Вітаю" in reply.visible


async def test_a_duplicated_update_is_answered_once(bot_client, telegram):
    update = telegram.message_update(7, "/help")
    for _ in range(3):
        response = await bot_client.post("/telegram/webhook", json=update, headers=HEADERS)
        assert response.status_code == 200
    await wait_for(telegram, 1)
    await asyncio.sleep(0.5)
    assert len(telegram.sent(7)) == 1


async def test_one_chats_ten_messages_are_answered_in_order_while_others_proceed(
    bot_client, telegram, demo_catalog
):
    products = [item.product for item in demo_catalog if item.product.active][:10]
    for n, product in enumerate(products):
        asked = telegram.message_update(7, f"скільки коштує {product.sku}")
        await bot_client.post("/telegram/webhook", json=asked, headers=HEADERS)
        other = telegram.message_update(100 + n, "/help")
        await bot_client.post("/telegram/webhook", json=other, headers=HEADERS)
    await wait_for(telegram, lambda sent: len([s for s in sent if s.chat_id == 7]) >= 10)
    answers = [s.visible for s in telegram.sent(7)]
    assert len(answers) == 10
    for product, answer in zip(products, answers, strict=True):
        assert product.name in answer
    others = {s.chat_id for s in telegram.sent() if s.chat_id != 7}
    assert others == set(range(100, 110))


async def test_a_photo_of_a_shop_item_gets_its_card_with_price_from_the_database(
    bot_client, telegram
):
    update = telegram.message_update(7, photo=demo_photo("KR-HD-001.png"))
    await bot_client.post("/telegram/webhook", json=update, headers=HEADERS)
    [card] = await wait_for(telegram, 1)
    assert card.method == "sendPhoto" and card.photo
    assert "Худі" in card.visible and "грн" in card.visible
    buttons = [b["callback_data"] for row in card.reply_markup["inline_keyboard"] for b in row]
    assert "o:KR-HD-001" in buttons


async def test_an_album_of_three_photos_gets_one_answer(bot_client, telegram):
    photo = demo_photo("KR-HD-001.png")
    for _ in range(3):
        update = telegram.message_update(7, photo=photo)
        update["message"]["media_group_id"] = "album-1"
        await bot_client.post("/telegram/webhook", json=update, headers=HEADERS)
    await wait_for(telegram, 1)
    await asyncio.sleep(1.0)
    assert len(telegram.sent(7)) == 1


async def test_voice_messages_get_a_polite_answer(bot_client, telegram):
    update = telegram.message_update(7)
    update["message"]["voice"] = {"file_id": "v1", "file_unique_id": "v1u", "duration": 3}
    await bot_client.post("/telegram/webhook", json=update, headers=HEADERS)
    [reply] = await wait_for(telegram, 1)
    assert "голосові" in reply.visible


async def test_a_429_with_retry_after_is_honoured(bot_client, telegram):
    telegram.fail("sendMessage", 429, retry_after=1)
    await bot_client.post(
        "/telegram/webhook", json=telegram.message_update(7, "/help"), headers=HEADERS
    )
    await wait_for(telegram, 1)
    attempts = telegram.calls_to("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0


async def test_asking_for_a_person_hands_off_and_the_manager_reply_is_relayed(bot_client, telegram):
    await bot_client.post(
        "/telegram/webhook", json=telegram.message_update(7, "покличте менеджера"), headers=HEADERS
    )
    sent = await wait_for(telegram, 2)
    notice = next(s for s in sent if s.chat_id == MANAGERS)
    assert "Передача розмови" in notice.visible
    # While handed off the bot stays silent to the customer and relays to the managers.
    await bot_client.post(
        "/telegram/webhook", json=telegram.message_update(7, "коли відповісте?"), headers=HEADERS
    )
    await wait_for(telegram, 3)
    assert len(telegram.sent(7)) == 1
    reply = telegram.message_update(MANAGERS, "Добрий день! Я менеджер Оксана.")
    reply["message"]["chat"] = {"id": MANAGERS, "type": "supergroup", "title": "Менеджери"}
    reply["message"]["reply_to_message"] = {
        "message_id": notice.message_id,
        "date": 1,
        "chat": {"id": MANAGERS, "type": "supergroup", "title": "Менеджери"},
        "text": "…",
    }
    await bot_client.post("/telegram/webhook", json=reply, headers=HEADERS)
    await wait_for(telegram, lambda s: len([m for m in s if m.chat_id == 7]) == 2)
    assert telegram.sent(7)[-1].visible == "Добрий день! Я менеджер Оксана."


async def test_a_product_photo_is_uploaded_once_then_sent_by_file_id(bot_client, telegram):
    for chat in (7, 8):
        update = telegram.message_update(chat, photo=demo_photo("KR-HD-001.png"))
        await bot_client.post("/telegram/webhook", json=update, headers=HEADERS)
        await wait_for(telegram, lambda sent, chat=chat: any(s.chat_id == chat for s in sent))
    first, second = telegram.calls_to("sendPhoto")
    assert first.params["photo"].startswith("attach://") and first.files  # uploaded
    assert second.files == {}
    assert second.params["photo"] == telegram.sent(7)[0].photo_file_id


def test_a_public_webhook_without_a_secret_is_refused(database_url, telegram):
    import pytest
    from pydantic import SecretStr, ValidationError

    from app.config import TelegramSettings
    from tests.fixtures_app import app_settings

    with pytest.raises(ValidationError, match="KRAMAR_TELEGRAM_WEBHOOK_SECRET"):
        app_settings(
            database_url,
            telegram=TelegramSettings(bot_token=SecretStr("1:x"), api_url=telegram.url),
            public_url="https://shop.example",
        )


async def test_a_changed_webhook_secret_is_registered_on_the_next_start(database_url, db, telegram):
    from litestar.testing import AsyncTestClient
    from pydantic import SecretStr

    from app.server import create_app
    from tests.bot.conftest import bot_settings

    for secret in ("first-secret", "first-secret", "second-secret"):
        settings = bot_settings(database_url, telegram)
        settings.telegram = settings.telegram.model_copy(
            update={"webhook_secret": SecretStr(secret)}
        )
        async with AsyncTestClient(create_app(settings)) as client:
            update = telegram.message_update(1, "/help")
            headers = {"X-Telegram-Bot-Api-Secret-Token": secret}
            response = await client.post("/telegram/webhook", json=update, headers=headers)
            assert response.status_code == 200
    registered = [call.params["secret_token"] for call in telegram.calls_to("setWebhook")]
    assert registered == ["first-secret", "second-secret"]
    assert telegram.webhook["secret_token"] == "second-secret"


async def test_a_turn_longer_than_the_lease_is_answered_once(database_url, db, telegram):
    from litestar.testing import AsyncTestClient

    from app.server import create_app
    from tests.bot.conftest import bot_settings

    settings = bot_settings(database_url, telegram)
    settings.telegram = settings.telegram.model_copy(update={"lease_seconds": 0.6})
    telegram.delay("sendMessage", 2.0)  # the turn's answer takes three leases
    async with AsyncTestClient(create_app(settings)) as client:
        update = telegram.message_update(7, "/help")
        assert (await client.post("/telegram/webhook", json=update, headers=HEADERS)).is_success
        await wait_for(telegram, 1)
        await asyncio.sleep(1.5)  # a second answer would arrive by now
        async with db.connect() as conn:
            status = await conn.scalar(text("SELECT status FROM telegram_inbox"))
    assert len(telegram.sent(7)) == 1
    assert status == "done"
