"""The sender, through a real aiogram Bot to the Telegram stand-in."""

from __future__ import annotations

import logging
import time

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from app.bot.flood import FloodLimiter
from app.bot.sender import Backoff, Sender
from tests.servers.redis import free_port
from tests.servers.telegram import TOKEN

PER_CHAT = 0.2
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Buy", callback_data="buy:1")]]
)


@pytest.fixture(name="bot")
async def fx_bot(telegram):
    bot = telegram.bot()
    await bot.get_me()  # the connection is open before a test times anything
    yield bot
    await bot.session.close()


@pytest.fixture(name="sender")
def fx_sender(bot):
    limiter = FloodLimiter(per_chat=PER_CHAT, overall=0.001)
    return Sender(bot, limiter, backoff=Backoff(first=0.01, maximum=0.05))


def paragraph(number: int) -> str:
    return f"Paragraph {number}: " + "слово " * 165  # about 1 000 characters


async def test_a_plain_text_arrives_as_one_message(sender, telegram):
    [message] = await sender.send_text(1, "Привіт! Чим допомогти?")

    assert message.text == "Привіт! Чим допомогти?"
    assert telegram.sent(1)[0].parse_mode == "HTML"


async def test_html_special_characters_in_plain_text_arrive_escaped(sender, telegram):
    await sender.send_text(1, "<b>Ціна</b> 1 200 & знижка > 10%")

    [sent] = telegram.sent(1)
    assert sent.text == "&lt;b&gt;Ціна&lt;/b&gt; 1 200 &amp; знижка &gt; 10%"
    assert sent.visible == "<b>Ціна</b> 1 200 & знижка > 10%"


async def test_html_from_the_caller_is_sent_as_is(sender, telegram):
    await sender.send_text(1, "<b>Ціна</b> &amp; розмір", html=True)

    assert telegram.sent(1)[0].visible == "Ціна & розмір"


async def test_a_9000_character_text_arrives_as_3_messages_split_at_paragraphs(sender, telegram):
    paragraphs = [paragraph(n) for n in range(9)]
    text = "\n\n".join(paragraphs)
    assert len(text) > 9000

    messages = await sender.send_text(1, text, reply_markup=KEYBOARD)

    sent = telegram.sent(1)
    assert len(messages) == len(sent) == 3
    assert [s.text for s in sent] == [
        "\n\n".join(paragraphs[0:4]),
        "\n\n".join(paragraphs[4:8]),
        paragraphs[8],
    ]
    assert [s.message_id for s in sent] == [1, 2, 3]
    # the keyboard goes on the last piece only
    assert [s.reply_markup is not None for s in sent] == [False, False, True]


async def test_a_reply_quotes_the_customers_message_on_the_first_piece(sender, telegram):
    question = telegram.message_update(1, "Є розмір M?")["message"]

    await sender.send_text(1, "Так!", reply_to=question["message_id"])

    assert telegram.sent(1)[0].reply_to == question["message_id"]


async def test_a_429_is_retried_after_retry_after(sender, telegram):
    telegram.fail("sendMessage", 429, retry_after=1)

    messages = await sender.send_text(1, "hello")

    first, second = telegram.calls_to("sendMessage")
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at >= 1.0
    assert len(messages) == 1


async def test_a_server_error_is_retried_until_it_succeeds(sender, telegram):
    telegram.fail("sendMessage", 500, times=2)

    messages = await sender.send_text(1, "hello")

    assert [c.status for c in telegram.calls_to("sendMessage")] == [500, 500, 200]
    assert len(messages) == 1


async def test_server_errors_are_given_up_after_max_attempts(bot, telegram):
    sender = Sender(bot, FloodLimiter(per_chat=0), max_attempts=3, backoff=Backoff(first=0.01))
    telegram.fail("sendMessage", 502, times=5)

    assert await sender.send_text(1, "hello") == []
    assert len(telegram.calls_to("sendMessage")) == 3


async def test_a_blocked_bot_is_not_retried_and_the_rest_is_not_sent(sender, telegram, caplog):
    telegram.fail("sendMessage", 403)
    caplog.set_level(logging.INFO, logger="app.bot.sender")

    messages = await sender.send_text(1, "\n\n".join(paragraph(n) for n in range(9)))

    assert messages == []
    assert [c.status for c in telegram.calls_to("sendMessage")] == [403]
    assert "blocked" in caplog.text


async def test_a_bad_request_is_not_retried(sender, telegram):
    await sender.send_text(1, "<b>unclosed", html=True)

    assert [c.status for c in telegram.calls_to("sendMessage")] == [400]


async def test_network_errors_are_retried_and_never_log_the_token(caplog):
    api = TelegramAPIServer.from_base(f"http://127.0.0.1:{free_port()}")  # nothing listens
    bot = Bot(TOKEN, session=AiohttpSession(api=api))
    sender = Sender(bot, FloodLimiter(per_chat=0), max_attempts=2, backoff=Backoff(first=0.01))
    caplog.set_level(logging.INFO, logger="app.bot.sender")
    try:
        assert await sender.send_text(1, "hello") == []
    finally:
        await bot.session.close()

    assert caplog.text.count("TelegramNetworkError") == 2  # one retry, then given up
    assert TOKEN not in caplog.text


async def test_two_sends_to_one_chat_are_spaced_but_other_chats_are_not_held(sender, telegram):
    started = time.monotonic()
    await sender.send_text(1, "one")
    await sender.send_text(2, "other chat")
    await sender.send_text(1, "two")

    one, other, two = telegram.sent()
    # Measured from before the first send, not from its arrival: a slow first request (a new
    # connection on a loaded machine) must not make the spacing look shorter than it was.
    assert two.at - started >= PER_CHAT
    assert other.at - one.at < PER_CHAT / 2


async def test_a_sender_still_sends_when_redis_is_down(bot, telegram):
    from redis.asyncio import Redis

    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    sender = Sender(bot, FloodLimiter(client, per_chat=PER_CHAT))
    try:
        messages = await sender.send_text(1, "hello")
    finally:
        await client.aclose()

    assert len(messages) == 1


async def test_a_photo_is_uploaded_with_its_caption_and_keyboard(sender, telegram):
    [message] = await sender.send_photo(
        1, b"jpeg bytes", caption="Сукня <нова>", reply_markup=KEYBOARD
    )

    [sent] = telegram.sent(1)
    assert sent.photo == b"jpeg bytes"
    assert sent.visible == "Сукня <нова>"
    assert message.reply_markup is not None


async def test_a_photo_can_be_sent_by_file_id(sender, telegram):
    stored = telegram.add_file(b"catalog photo")

    await sender.send_photo(1, stored.file_id)

    assert telegram.sent(1)[0].photo == b"catalog photo"


async def test_a_long_caption_continues_as_text_with_the_keyboard_last(sender, telegram):
    caption = "\n\n".join(paragraph(n) for n in range(2))

    messages = await sender.send_photo(1, b"jpeg", caption=caption, reply_markup=KEYBOARD)

    photo, text = telegram.sent(1)
    assert len(messages) == 2
    assert photo.photo == b"jpeg" and photo.reply_markup is None
    assert (photo.visible or "").startswith("Paragraph 0")
    assert (text.visible or "").startswith("Paragraph 1")
    assert text.reply_markup is not None


async def test_photos_go_as_one_album_with_the_caption_on_the_first(sender, telegram):
    messages = await sender.send_media_group(1, [b"a", b"b", b"c"], caption="Кольори")

    sent = telegram.sent(1)
    assert len(messages) == 3
    assert [s.photo for s in sent] == [b"a", b"b", b"c"]
    assert [s.visible for s in sent] == ["Кольори", None, None]
    assert len({s.media_group_id for s in sent}) == 1
