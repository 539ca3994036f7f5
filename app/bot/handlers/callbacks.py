"""Inline buttons under the bot's messages: products, sizes, colours, delivery, confirm."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message, Update

from app.bot.handlers.common import customer

if TYPE_CHECKING:
    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation


def build() -> Router:
    router = Router(name=__name__)

    @router.callback_query(F.message.chat.type == "private")
    async def button(
        query: CallbackQuery,
        event_update: Update,
        conversation: Conversation,
        outgoing: Outgoing,
    ) -> None:
        # Answer first: the spinner on the customer's button stops at once.
        await query.answer()
        if not isinstance(query.message, Message) or not query.data:
            return
        chat_id = query.message.chat.id
        replies = await conversation.callback(
            customer(chat_id, query.from_user), query.data, event_id=str(event_update.update_id)
        )
        await outgoing.deliver(chat_id, replies)

    return router
