"""What a customer wrote, read back from the inbox (for the panel's hand-off page).

The inbox keeps every update as Telegram sent it for `KRAMAR_TELEGRAM_RETENTION_DAYS`: the
customer's texts, captions and photos (as Telegram file ids) are there, so the panel can show
them with no copy of its own. Photos are fetched from Telegram when shown, with the same
byte limit as the bot's own downloads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.bot.inbox import message_of
from app.bot.models import InboxUpdate

if TYPE_CHECKING:
    from datetime import datetime

    from aiogram import Bot
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class CustomerMessage:
    update_id: int
    at: datetime
    text: str | None
    """The text, the photo's caption, or what the customer did (a button, a contact)."""
    has_photo: bool


def describe(update: dict[str, Any]) -> tuple[str | None, bool]:
    """(text, has a photo) of one stored update, as a person would read the chat."""
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        return "[натиснуто кнопку]", False
    message = message_of(update)
    if message is None:
        return None, False
    text = message.get("text") or message.get("caption")
    if isinstance(message.get("contact"), dict):
        text = f"[поділився номером] {message['contact'].get('phone_number', '')}".strip()
    document = message.get("document")
    photo = bool(message.get("photo")) or (
        isinstance(document, dict) and str(document.get("mime_type", "")).startswith("image/")
    )
    return (str(text) if text else None), photo


class ChatHistory:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def recent(self, chat_id: int, *, limit: int = 30) -> list[CustomerMessage]:
        """The chat's last `limit` updates in the inbox, oldest first."""
        async with self._session_factory() as session:
            rows = (
                await session.execute(
                    select(InboxUpdate.update_id, InboxUpdate.received_at, InboxUpdate.payload)
                    .where(InboxUpdate.chat_key == chat_id)
                    .order_by(InboxUpdate.update_id.desc())
                    .limit(limit)
                )
            ).all()
        messages = []
        for update_id, at, payload in reversed(rows):
            text, photo = describe(payload)
            if text is not None or photo:
                messages.append(CustomerMessage(update_id, at, text, photo))
        return messages

    async def photo(self, bot: Bot, chat_id: int, update_id: int, *, limit: int) -> bytes | None:
        """The photo of update `update_id` of chat `chat_id`, fetched from Telegram; None if
        that update is not the chat's or has no photo. Raises what `app.bot.media.download`
        raises for a file Telegram will not hand over or that is over `limit` bytes."""
        async with self._session_factory() as session:
            payload = await session.scalar(
                select(InboxUpdate.payload).where(
                    InboxUpdate.update_id == update_id, InboxUpdate.chat_key == chat_id
                )
            )
        message = None if payload is None else message_of(payload)
        if message is None:
            return None
        # aiogram only when a photo is shown: a panel with no bot must not load it at start-up.
        from aiogram.types import Message

        from app.bot.media import download

        return await download(bot, Message.model_validate(message, context={"bot": bot}), limit)
