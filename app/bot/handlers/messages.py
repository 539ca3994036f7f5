"""Text messages: questions, product names, contacts and addresses typed by hand."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router

from app.bot.handlers.common import customer

if TYPE_CHECKING:
    from aiogram.types import Message, Update

    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation


def build() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")

    @router.message(F.text)
    async def text(
        message: Message, event_update: Update, conversation: Conversation, outgoing: Outgoing
    ) -> None:
        who = customer(message.chat.id, message.from_user)
        replies = await conversation.text(
            who, message.text or "", event_id=str(event_update.update_id)
        )
        await outgoing.deliver(message.chat.id, replies)

    return router
