"""Sends the bot's messages: split to Telegram's limits, paced by the flood limiter, retried.

Telegram answers 429 with how long to wait, and 5xx or a dropped connection now and then; both
are retried (at most `max_attempts` calls per message). 400 and 403 are not: the request itself
is wrong, or the customer blocked the bot, and sending again changes nothing. The sender then
logs and returns what was delivered so far, so a handler never fails on a reply it cannot send.
"""

from __future__ import annotations

import asyncio
import html as html_lib
import logging
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar, cast

from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageReplyMarkup, SendMediaGroup, SendMessage, SendPhoto
from aiogram.types import BufferedInputFile, InputMediaPhoto, ReplyParameters

from app.bot import delivered
from app.bot.text import CAPTION_LIMIT, TEXT_LIMIT, split_message

if TYPE_CHECKING:
    from collections.abc import Sequence

    from aiogram import Bot
    from aiogram.methods import TelegramMethod
    from aiogram.types import (
        ForceReply,
        InlineKeyboardMarkup,
        MediaUnion,
        Message,
        ReplyKeyboardMarkup,
        ReplyKeyboardRemove,
    )

    from app.bot.flood import FloodLimiter

    Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply

log = logging.getLogger(__name__)

T = TypeVar("T")
MEDIA_GROUP_LIMIT = 10


@dataclass(frozen=True)
class Backoff:
    """Delays between retries of a failed call: exponential, capped, with jitter so that
    replicas retrying the same outage do not all come back in the same instant."""

    first: float = 0.5
    """Seconds before the first retry (before jitter)."""
    maximum: float = 10.0
    """Seconds: the longest delay."""

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): 50-100% of the cap."""
        cap: float = min(self.maximum, self.first * 2.0 ** (attempt - 1))
        return cap * random.uniform(0.5, 1.0)


class Sender:
    """The one way the bot sends into chats."""

    def __init__(
        self,
        bot: Bot,
        limiter: FloodLimiter,
        *,
        max_attempts: int = 5,
        backoff: Backoff | None = None,
        max_retry_after: float = 60.0,
    ) -> None:
        """`max_attempts`: calls per message, the first included; `max_retry_after`: seconds of
        a 429's retry_after beyond which the message is dropped (a customer will not wait)."""
        self._bot = bot
        self._limiter = limiter
        self._max_attempts = max_attempts
        self._backoff = backoff or Backoff()
        self._max_retry_after = max_retry_after

    def held(self, chat_id: int | str) -> bool:
        """Whether Telegram asked us (429 retry_after) to send nothing to `chat_id` for now."""
        return self._limiter.held(chat_id)

    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: Markup | None = None,
        html: bool = False,
        reply_to: int | None = None,
    ) -> list[Message]:
        """Send `text` as one or more messages; the keyboard goes on the last one.

        Plain text is escaped and sent as HTML; `html=True` means `text` already is safe
        Telegram HTML. Returns the messages delivered, which is fewer than the pieces (or none)
        when Telegram refuses one: the rest are not sent, as they would read out of context.
        """
        body = text if html else html_lib.escape(text, quote=False)
        pieces = split_message(body, TEXT_LIMIT, html=True)
        sent: list[Message] = []
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            message = await self._call(
                SendMessage(
                    chat_id=chat_id,
                    text=piece,
                    parse_mode="HTML",
                    reply_markup=reply_markup if last else None,
                    reply_parameters=_reply(reply_to) if index == 0 else None,
                )
            )
            if message is None:
                break
            sent.append(message)
        return sent

    async def send_photo(
        self,
        chat_id: int,
        photo: bytes | str,
        *,
        caption: str | None = None,
        reply_markup: Markup | None = None,
        html: bool = False,
    ) -> list[Message]:
        """Send a photo (bytes to upload, or a Telegram file_id) with an optional caption.

        A caption over Telegram's 1024 limit keeps its first part on the photo and follows as
        text messages; the keyboard goes on the last message.
        """
        parts: list[str] = []
        if caption:
            body = caption if html else html_lib.escape(caption, quote=False)
            parts = split_message(body, CAPTION_LIMIT, html=True)
        first = parts[0] if parts else None
        message = await self._call(
            SendPhoto(
                chat_id=chat_id,
                photo=_input_file(photo),
                caption=first,
                parse_mode="HTML" if first else None,
                reply_markup=reply_markup if len(parts) <= 1 else None,
            )
        )
        if message is None:
            return []
        sent = [message]
        if len(parts) > 1:
            rest = "\n\n".join(parts[1:])
            sent += await self.send_text(chat_id, rest, reply_markup=reply_markup, html=True)
        return sent

    async def send_media_group(
        self,
        chat_id: int,
        photos: Sequence[bytes | str],
        *,
        caption: str | None = None,
        html: bool = False,
    ) -> list[Message]:
        """Send photos as albums of up to 10, the caption under the first photo.

        Telegram albums take no keyboard; send one after with `send_text` if needed. A single
        photo goes as `send_photo`, since Telegram refuses an album of one.
        """
        if len(photos) == 1:
            return await self.send_photo(chat_id, photos[0], caption=caption, html=html)
        body = None
        if caption:
            body = caption if html else html_lib.escape(caption, quote=False)
            body = split_message(body, CAPTION_LIMIT, html=True)[0]
        sent: list[Message] = []
        for start in range(0, len(photos), MEDIA_GROUP_LIMIT):
            album = photos[start : start + MEDIA_GROUP_LIMIT]
            if len(album) == 1:  # a lone photo left over after full albums
                sent += await self.send_photo(chat_id, album[0])
                continue
            media: list[MediaUnion] = [
                InputMediaPhoto(
                    media=_input_file(photo),
                    caption=body if start == 0 and index == 0 else None,
                    parse_mode="HTML" if body and start == 0 and index == 0 else None,
                )
                for index, photo in enumerate(album)
            ]
            messages = await self._call(SendMediaGroup(chat_id=chat_id, media=media))
            if messages is None:
                break
            sent += messages
        return sent

    async def edit_buttons(
        self, chat_id: int, message_id: int, reply_markup: InlineKeyboardMarkup | None = None
    ) -> bool:
        """Replace the inline keyboard under a sent message (None: remove it); False if
        Telegram refused (the message is gone, or already has these buttons)."""
        edited = await self._call(
            EditMessageReplyMarkup(
                chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
            )
        )
        return edited is not None

    async def _call(self, method: TelegramMethod[T]) -> T | None:
        """`method` after the flood limiter, retried as the module says; None if not sent.

        Within a turn, a call an earlier attempt of the turn settled is not made again, and
        each call settled (sent, or given up) is recorded (`app.bot.delivered`)."""
        turn = delivered.current()
        if turn is not None and turn.skip():
            chat_id: int | str = getattr(method, "chat_id")  # noqa: B009 (all our methods have one)
            log.info(
                "telegram %s to chat %s: settled by an earlier attempt",
                method.__api_method__,
                chat_id,
            )
            return cast("T", delivered.placeholder(method, chat_id))
        result = await self._send(method)
        if turn is not None:
            await turn.settled()
        return result

    async def _send(self, method: TelegramMethod[T]) -> T | None:
        chat_id: int | str = getattr(method, "chat_id")  # noqa: B009 (all our methods have one)
        name = method.__api_method__
        error: TelegramAPIError | None = None
        for attempt in range(1, self._max_attempts + 1):
            if error is not None:
                await asyncio.sleep(self._delay(error, attempt - 1))
            await self._limiter.acquire(chat_id)
            try:
                return await self._bot(method)
            except TelegramRetryAfter as exc:
                error = exc
                # The chat's other senders (the managers' chat has one per customer) wait too.
                await self._limiter.hold(chat_id, exc.retry_after)
                if exc.retry_after > self._max_retry_after:
                    break
            except (TelegramServerError, TelegramNetworkError) as exc:
                error = exc
            except TelegramAPIError as exc:  # 400, 403 and the like: sending again won't help
                error = exc
                break
            if attempt < self._max_attempts:
                log.info("telegram %s to chat %s failed: %s", name, chat_id, self._describe(error))
        if error is not None:
            log.warning("telegram %s to chat %s not sent: %s", name, chat_id, self._describe(error))
        return None

    def _delay(self, error: TelegramAPIError, attempt: int) -> float:
        if isinstance(error, TelegramRetryAfter):
            return float(error.retry_after)
        return self._backoff.delay(attempt)

    def _describe(self, exc: TelegramAPIError) -> str:
        # A network error's text may carry the request URL, and with it the bot token.
        return f"{type(exc).__name__}: {exc.message}".replace(self._bot.token, "<token>")


def _input_file(photo: bytes | str) -> BufferedInputFile | str:
    return BufferedInputFile(photo, filename="photo.jpg") if isinstance(photo, bytes) else photo


def _reply(message_id: int | None) -> ReplyParameters | None:
    # Replying to a message the customer since deleted must not lose the answer.
    if message_id is None:
        return None
    return ReplyParameters(message_id=message_id, allow_sending_without_reply=True)
