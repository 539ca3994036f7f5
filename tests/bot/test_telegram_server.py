"""The Telegram stand-in itself, as a real aiogram Bot sees it."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from aiogram import Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    Message,
)

from tests.servers.telegram import TOKEN

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Buy", callback_data="buy:1")]]
)


@pytest.fixture(name="bot")
async def fx_bot(telegram):
    bot = telegram.bot()
    yield bot
    await bot.session.close()


async def test_get_me_answers_as_the_bot(bot, telegram):
    me = await bot.get_me()

    assert me.is_bot
    assert me.username == "kramar_bot"
    assert [call.method for call in telegram.calls] == ["getMe"]


async def test_callback_data_over_64_bytes_is_refused(bot):
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Колір", callback_data="c:" + "я" * 32)]]
    )
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(7, "Оберіть колір:", reply_markup=too_long)


async def test_a_wrong_token_is_unauthorized(telegram):
    stranger = telegram.bot("654321:WRONG-token")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


async def test_an_unknown_method_is_a_telegram_shaped_404(telegram):
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{telegram.url}/bot{TOKEN}/sendTelepathy", json={})

    assert response.status_code == 404
    assert response.json() == {"ok": False, "error_code": 404, "description": "Not Found"}


async def test_sent_text_is_echoed_with_its_inline_keyboard(bot, telegram):
    message = await bot.send_message(7, "<b>Сукня</b> &amp; пояс", parse_mode="HTML",
                                     reply_markup=KEYBOARD)  # fmt: skip

    assert message.text == "Сукня & пояс"
    assert message.reply_markup is not None
    assert message.reply_markup.inline_keyboard[0][0].callback_data == "buy:1"
    [sent] = telegram.sent(7)
    assert sent.text == "<b>Сукня</b> &amp; пояс"
    assert sent.parse_mode == "HTML"
    assert sent.reply_markup == KEYBOARD.model_dump(exclude_none=True)


async def test_message_ids_increase_per_chat(bot):
    first = await bot.send_message(1, "a")
    second = await bot.send_message(1, "b")
    other = await bot.send_message(2, "c")

    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.type == "private"


async def test_json_and_urlencoded_requests_are_understood(telegram):
    async with httpx.AsyncClient() as client:
        as_json = await client.post(
            f"{telegram.url}/bot{TOKEN}/sendMessage", json={"chat_id": 3, "text": "json"}
        )
        as_form = await client.post(
            f"{telegram.url}/bot{TOKEN}/sendMessage", data={"chat_id": "3", "text": "form"}
        )

    assert as_json.json()["result"]["text"] == "json"
    assert as_form.json()["result"]["message_id"] == 2


async def test_html_telegram_would_refuse_is_a_bad_request(bot):
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "<b>bold", parse_mode="HTML")
    with pytest.raises(TelegramBadRequest, match="Unsupported start tag"):
        await bot.send_message(1, "<div>x</div>", parse_mode="HTML")


async def test_text_over_4096_utf16_units_is_too_long(bot):
    await bot.send_message(1, "😀" * 2048)  # 4096 UTF-16 code units: the limit exactly

    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(1, "😀" * 2048 + "!")


async def test_an_uploaded_photo_can_be_sent_again_by_file_id(bot, telegram):
    jpeg = b"\xff\xd8\xff\xe0\r\n--not-a-boundary\r\n\x00" * 50

    uploaded = await bot.send_photo(1, BufferedInputFile(jpeg, "p.jpg"), caption="Нова")
    again = await bot.send_photo(2, uploaded.photo[-1].file_id)

    assert uploaded.caption == "Нова"
    assert [s.photo for s in telegram.sent()] == [jpeg, jpeg]
    assert again.photo[-1].file_id == uploaded.photo[-1].file_id


async def test_an_unknown_file_id_is_a_bad_request(bot):
    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(1, "no-such-file")


async def test_a_customers_photo_can_be_downloaded(bot, telegram):
    update = telegram.message_update(5, photo=b"customer photo")

    largest = update["message"]["photo"][-1]
    file = await bot.get_file(largest["file_id"])
    downloaded = await bot.download(file)

    assert downloaded is not None
    assert downloaded.read() == b"customer photo"


async def test_a_media_group_arrives_as_one_album(bot, telegram):
    known = telegram.add_file(b"known")

    album = await bot.send_media_group(
        1,
        [
            InputMediaPhoto(media=BufferedInputFile(b"new", "n.jpg"), caption="Look"),
            InputMediaPhoto(media=known.file_id),
        ],
    )

    assert len(album) == 2
    assert album[0].media_group_id == album[1].media_group_id is not None
    assert [s.photo for s in telegram.sent(1)] == [b"new", b"known"]
    assert telegram.sent(1)[0].text == "Look"


async def test_edits_change_the_message_and_an_empty_edit_is_refused(bot, telegram):
    message = await bot.send_message(1, "Size?", reply_markup=KEYBOARD)

    edited = await bot.edit_message_text(
        "Size M", chat_id=1, message_id=message.message_id, reply_markup=KEYBOARD
    )
    await bot.edit_message_reply_markup(chat_id=1, message_id=message.message_id)

    assert isinstance(edited, Message)
    assert edited.text == "Size M"
    assert [s.method for s in telegram.sent(1)] == [
        "sendMessage", "editMessageText", "editMessageReplyMarkup",
    ]  # fmt: skip
    assert telegram.sent(1)[-1].reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_reply_markup(chat_id=1, message_id=message.message_id)


async def test_callback_answers_and_chat_actions_succeed(bot, telegram):
    assert await bot.answer_callback_query("cb-1", text="Added")
    assert await bot.send_chat_action(1, "typing")
    assert [c.params.get("text") for c in telegram.calls_to("answerCallbackQuery")] == ["Added"]


async def test_webhook_info_reflects_what_was_set(bot, telegram):
    await bot.set_webhook(
        "https://shop.example/telegram", secret_token="s3cret", allowed_updates=["message"]
    )

    info = await bot.get_webhook_info()

    assert info.url == "https://shop.example/telegram"
    assert info.allowed_updates == ["message"]
    assert telegram.webhook["secret_token"] == "s3cret"
    with pytest.raises(TelegramConflictError):
        await bot.get_updates()
    await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_get_updates_serves_queued_updates_until_confirmed(bot, telegram):
    first = telegram.queue_update(telegram.message_update(5, "hi"))
    second = telegram.queue_update(telegram.message_update(5, "there"))

    updates = await bot.get_updates()
    after_confirming = await bot.get_updates(offset=second["update_id"] + 1)

    assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
    assert updates[0].message is not None
    assert updates[0].message.text == "hi"
    assert after_confirming == []


async def test_a_long_poll_returns_as_soon_as_an_update_is_queued(bot, telegram):
    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(timeout=5))
    await asyncio.sleep(0.1)
    telegram.queue_update(telegram.message_update(5, "late"))

    updates = await poll

    assert [u.message.text for u in updates if u.message] == ["late"]
    assert time.monotonic() - started < 1


async def test_an_empty_long_poll_is_cut_short(bot):
    started = time.monotonic()

    assert await bot.get_updates(timeout=30) == []
    assert time.monotonic() - started < 2


async def test_a_dispatcher_long_polls_and_replies(bot, telegram):
    dispatcher = Dispatcher()

    @dispatcher.message()
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    polling = asyncio.create_task(dispatcher.start_polling(bot, handle_signals=False))
    try:
        telegram.queue_update(telegram.message_update(9, "ping"))
        [reply] = await asyncio.to_thread(telegram.wait_for, 1, 5)
    finally:
        await dispatcher.stop_polling()
        await polling

    assert (reply.chat_id, reply.text) == (9, "echo: ping")


async def test_scripted_failures_come_in_order_then_calls_succeed(bot, telegram):
    telegram.fail("sendMessage", 429, retry_after=3)
    telegram.fail("sendMessage", 502)
    telegram.fail("sendMessage", 403)

    with pytest.raises(TelegramRetryAfter) as limited:
        await bot.send_message(1, "a")
    with pytest.raises(TelegramServerError):
        await bot.send_message(1, "a")
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await bot.send_message(1, "a")
    await bot.send_message(1, "a")

    assert limited.value.retry_after == 3
    assert [c.status for c in telegram.calls_to("sendMessage")] == [429, 502, 403, 200]
    assert len(telegram.sent(1)) == 1


async def test_wait_for_times_out_with_what_was_sent(telegram):
    with pytest.raises(TimeoutError):
        telegram.wait_for(lambda sent: len(sent) > 0, timeout=0.05)
