"""Sends the conversation's replies to Telegram and remembers what went to the manager chat.

A hand-off or order posted to the manager chat is remembered by its message id for a week, so
a manager's reply to it reaches the right customer.
"""

from __future__ import annotations

import hashlib
import logging
from typing import TYPE_CHECKING

from aiogram.types import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from app.bot import delivered

if TYPE_CHECKING:
    from aiogram.types import Message

    from app.bot.sender import Markup, Sender
    from app.cache.backend import CacheBackend
    from app.dialog.replies import Reply

logger = logging.getLogger(__name__)

THREAD_TTL = 7 * 24 * 3600
# A file_id stays valid for the bot that received it; a month bounds what a cache keeps.
FILE_ID_TTL = 30 * 24 * 3600


def markup(reply: Reply) -> Markup | None:
    if reply.buttons:
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [InlineKeyboardButton(text=b.text, callback_data=b.data) for b in row]
                for row in reply.buttons
            ]
        )
    if reply.ask_contact:
        return ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="📱 Надіслати мій номер", request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        )
    return None


class Outgoing:
    def __init__(self, sender: Sender, backend: CacheBackend, manager_chat_id: int | None) -> None:
        self.sender = sender
        self._backend = backend
        self.manager_chat_id = manager_chat_id

    async def deliver(
        self, chat_id: int, replies: list[Reply], *, pressed: int | None = None
    ) -> None:
        """Send `replies` in order: the customer's to `chat_id`, the rest to the managers.

        `pressed`: the message whose button the customer pressed; replies that edit it
        (`Reply.edit_pressed`) replace its buttons.
        """
        contact_keyboard_shown = False
        for reply in replies:
            if reply.edit_pressed:
                if pressed is not None:
                    keyboard = markup(reply)
                    inline = keyboard if isinstance(keyboard, InlineKeyboardMarkup) else None
                    await self.sender.edit_buttons(chat_id, pressed, inline)
                continue
            target = self.manager_chat_id if reply.to_manager else chat_id
            if target is None:
                logger.warning("no KRAMAR_MANAGER_CHAT_ID: a manager message was not sent")
                continue
            keyboard = markup(reply)
            if keyboard is None and contact_keyboard_shown and not reply.to_manager:
                keyboard = ReplyKeyboardRemove()
            contact_keyboard_shown = contact_keyboard_shown or reply.ask_contact
            if reply.album:
                await self.sender.send_media_group(target, list(reply.album))
            if reply.photo is not None:
                sent = await self._send_photo(target, reply.photo, reply.text, keyboard)
            else:
                sent = await self.sender.send_text(target, reply.text, reply_markup=keyboard)
            if reply.to_manager and reply.about_chat is not None:
                for message in sent:
                    if delivered.is_placeholder(message):
                        continue  # sent, and remembered, by an earlier attempt
                    await self._backend.set(
                        f"thread:{message.message_id}", str(reply.about_chat).encode(), THREAD_TTL
                    )

    async def _send_photo(
        self, chat_id: int, photo: bytes, caption: str, keyboard: Markup | None
    ) -> list[Message]:
        """Upload a photo once; afterwards send Telegram's file_id for it (no bytes again)."""
        key = f"tgfile:{hashlib.sha256(photo).hexdigest()[:32]}"
        known = await self._backend.get(key)
        if known is not None:
            sent = await self.sender.send_photo(
                chat_id, known.decode(), caption=caption, reply_markup=keyboard
            )
            if sent:
                return sent  # else the file_id went stale: upload the bytes again
        sent = await self.sender.send_photo(chat_id, photo, caption=caption, reply_markup=keyboard)
        if sent and sent[0].photo:
            await self._backend.set(key, sent[0].photo[-1].file_id.encode(), FILE_ID_TTL)
        return sent

    async def customer_of(self, manager_message_id: int) -> int | None:
        """The customer chat a manager-chat message was about."""
        raw = await self._backend.get(f"thread:{manager_message_id}")
        return int(raw) if raw is not None else None
