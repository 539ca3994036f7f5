"""Everything the bot does not understand yet: voice, video, stickers, locations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router

from app.bot.handlers.common import customer

if TYPE_CHECKING:
    from aiogram.types import Message

    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation


def build() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")

    @router.message()
    async def unsupported(message: Message, conversation: Conversation, outgoing: Outgoing) -> None:
        who = customer(message.chat.id, message.from_user)
        await outgoing.deliver(message.chat.id, await conversation.unsupported(who))

    return router
