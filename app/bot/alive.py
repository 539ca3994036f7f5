"""Signs of life while a customer's turn runs: the bot is never silent while it thinks.

An outer middleware on private-chat messages: the moment a turn starts, the chat shows "typing"
(`sendChatAction`), renewed every `interval` seconds (Telegram shows one for 5 s or until the
next message); when the turn is still running after `holding` seconds, the customer is told
once to wait a moment. Both stop when the handler returns, after it has delivered the answer.
A chat action is best effort: one attempt, no flood-limiter wait, a failure only logged (it
must never delay or break the answer itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import Message

from app.bot import delivered
from app.dialog.texts import HOLDING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiogram import Bot
    from aiogram.types import TelegramObject

    from app.bot.outgoing import Outgoing

logger = logging.getLogger(__name__)

ACTION_TIMEOUT = 2.0
"""Seconds one chat action may take before it is given up (the next one follows anyway)."""


class SignsOfLife(BaseMiddleware):
    """Typing indicator and one holding message while a private chat's message is handled."""

    def __init__(self, *, interval: float, holding: float) -> None:
        """`interval`: seconds between typing indicators; `holding`: seconds before the
        holding message (0: never)."""
        self._interval = interval
        self._holding = holding

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.chat.type != "private":
            return await handler(event, data)
        bot: Bot = data["bot"]
        outgoing: Outgoing = data["outgoing"]
        keeper = asyncio.create_task(self._keep(bot, outgoing, event.chat.id))
        try:
            return await handler(event, data)
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper

    async def _keep(self, bot: Bot, outgoing: Outgoing, chat_id: int) -> None:
        delivered.unrecorded()  # sent or not by timing: not one of the turn's counted messages
        loop = asyncio.get_running_loop()
        started = loop.time()
        held = self._holding <= 0
        while True:
            if not outgoing.sender.held(chat_id):  # a 429's retry_after holds the chat
                await _typing(bot, chat_id)
            wait = self._interval
            if not held:
                until_holding = self._holding - (loop.time() - started)
                if until_holding <= 0:
                    held = True
                    await outgoing.sender.send_text(chat_id, HOLDING)
                    continue
                wait = min(wait, until_holding)
            await asyncio.sleep(wait)


async def _typing(bot: Bot, chat_id: int) -> None:
    try:
        async with asyncio.timeout(ACTION_TIMEOUT):
            await bot.send_chat_action(chat_id, "typing")
    except (TelegramAPIError, TelegramNetworkError, TimeoutError) as error:
        logger.info("typing indicator for chat %s not sent: %s", chat_id, type(error).__name__)
