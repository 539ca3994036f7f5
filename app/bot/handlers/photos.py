"""Photos, images sent as files, and albums (several photos handled as one request).

Only the album parts that will be identified are downloaded (`MAX_PHOTOS_PER_REQUEST`). A photo
that cannot be fetched is answered, never left in silence and never retried for half a minute.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Bot, F, Router

from app.bot.failures import DOWNLOAD_FAILED
from app.bot.handlers.common import customer
from app.bot.media import DownloadFailedError, download, file_of
from app.dialog.replies import Reply
from app.dialog.texts import REJECTED_PHOTO
from app.vision.errors import ImageRejectedError
from app.vision.intake import MAX_PHOTOS_PER_REQUEST

if TYPE_CHECKING:
    from aiogram.types import Message

    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation

logger = logging.getLogger(__name__)


def build() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")

    @router.message(F.photo | F.document.mime_type.startswith("image/"))
    async def photo(
        message: Message,
        bot: Bot,
        conversation: Conversation,
        outgoing: Outgoing,
        max_photo_bytes: int,
        download_timeout: float = 20.0,
        album: list[Message] | None = None,
    ) -> None:
        parts = album or [message]
        images: list[bytes] = []
        failed = 0
        for part in parts:
            if len(images) >= MAX_PHOTOS_PER_REQUEST:
                break  # the rest would not be identified: not fetched either
            try:
                image = await download(bot, part, max_photo_bytes, seconds=download_timeout)
            except ImageRejectedError as rejected:
                logger.info("photo refused: %s", rejected)
                continue
            except DownloadFailedError as error:
                logger.warning("photo of chat %s not downloaded: %s", message.chat.id, error)
                failed += 1
                continue
            if image is not None:
                images.append(image)
        if not images:
            if failed:
                await outgoing.deliver(message.chat.id, [Reply(DOWNLOAD_FAILED)])
            elif any(file_of(part, max_photo_bytes) for part in parts):
                await outgoing.deliver(message.chat.id, [Reply(REJECTED_PHOTO)])
            return
        caption = next((p.caption for p in parts if p.caption), None)
        who = customer(message.chat.id, message.from_user)
        await outgoing.deliver(message.chat.id, await conversation.photos(who, images, caption))

    return router
