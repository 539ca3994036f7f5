"""/start and /help."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command, CommandStart

from app.bot.handlers.common import customer

if TYPE_CHECKING:
    from aiogram.types import Message

    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation


def build() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")

    @router.message(CommandStart())
    async def start(message: Message, conversation: Conversation, outgoing: Outgoing) -> None:
        who = customer(message.chat.id, message.from_user)
        await outgoing.deliver(message.chat.id, await conversation.start(who))

    @router.message(Command("help"))
    async def help_(message: Message, conversation: Conversation, outgoing: Outgoing) -> None:
        who = customer(message.chat.id, message.from_user)
        await outgoing.deliver(message.chat.id, await conversation.help(who))

    return router
