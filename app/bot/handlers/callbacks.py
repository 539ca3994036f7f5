"""Inline buttons under the bot's messages: products, sizes, colours, delivery, confirm."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError

from app.bot.handlers.common import customer

if TYPE_CHECKING:
    from aiogram.types import CallbackQuery, Update

    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation

logger = logging.getLogger(__name__)


def build() -> Router:
    router = Router(name=__name__)

    @router.callback_query(F.message.chat.type == "private")
    async def button(
        query: CallbackQuery,
        event_update: Update,
        conversation: Conversation,
        outgoing: Outgoing,
    ) -> None:
        # Answer first: the spinner on the customer's button stops at once. Telegram refuses
        # an answer that comes too late ("query is too old"): the button still does its work.
        try:
            await query.answer()
        except TelegramAPIError as error:
            logger.info("callback query not answered: %s", error.message)
        assert query.message is not None  # the filter above saw its chat
        chat_id = query.message.chat.id
        # Malformed or empty data is the conversation's to answer, politely.
        replies = await conversation.callback(
            customer(chat_id, query.from_user),
            query.data or "",
            event_id=str(event_update.update_id),
        )
        await outgoing.deliver(chat_id, replies, pressed=query.message.message_id)

    return router
