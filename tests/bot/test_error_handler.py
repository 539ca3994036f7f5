"""The error handler answers what retrying cannot fix and hands outages back to the inbox."""

from __future__ import annotations

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.types import Update

from app.bot.flood import FloodLimiter
from app.bot.handlers import errors
from app.bot.outgoing import Outgoing
from app.bot.runtime import api_server
from app.bot.sender import Sender
from app.cache.memory import MemoryBackend
from app.dialog.texts import SORRY
from tests.servers.telegram import TOKEN


def dispatcher_failing_with(error: BaseException, outgoing: Outgoing) -> Dispatcher:
    failing = Router(name="failing")

    @failing.message()
    async def fail(*_: object, **__: object) -> None:
        raise error

    dispatcher = Dispatcher(outgoing=outgoing)
    dispatcher.include_router(failing)
    dispatcher.include_router(errors.build())
    return dispatcher


@pytest.fixture(name="bot_and_outgoing")
async def fx_bot_and_outgoing(telegram):
    bot = Bot(TOKEN, session=AiohttpSession(api=api_server(telegram.url)))
    outgoing = Outgoing(
        Sender(bot, FloodLimiter(None, per_chat=0.0, overall=0.0)), MemoryBackend(), None
    )
    yield bot, outgoing
    await bot.session.close()


async def test_an_outage_inside_a_turn_goes_back_to_the_inbox_unanswered(
    telegram, bot_and_outgoing
):
    bot, outgoing = bot_and_outgoing
    dispatcher = dispatcher_failing_with(ConnectionRefusedError("database away"), outgoing)
    update = Update.model_validate(telegram.message_update(601, "привіт"), context={"bot": bot})
    with pytest.raises(ConnectionRefusedError):
        await dispatcher.feed_update(bot, update)
    assert telegram.sent(601) == []


async def test_a_bug_inside_a_turn_is_answered_with_an_apology(telegram, bot_and_outgoing):
    bot, outgoing = bot_and_outgoing
    dispatcher = dispatcher_failing_with(ValueError("a bug"), outgoing)
    update = Update.model_validate(telegram.message_update(602, "привіт"), context={"bot": bot})
    await dispatcher.feed_update(bot, update)
    assert [m.text for m in telegram.sent(602)] == [SORRY]
