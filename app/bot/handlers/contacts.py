"""The "share my phone number" button."""

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

    @router.message(F.contact)
    async def contact(message: Message, conversation: Conversation, outgoing: Outgoing) -> None:
        assert message.contact is not None
        who = customer(message.chat.id, message.from_user)
        name = " ".join(p for p in (message.contact.first_name, message.contact.last_name) if p)
        replies = await conversation.contact(who, message.contact.phone_number, name)
        await outgoing.deliver(message.chat.id, replies)

    return router
