"""Photos from Telegram: the largest size under the limit, fetched as bytes.

The download goes through aiogram (`getFile`, then the file route). The file URL contains the
bot token, so it never leaves this module and is never logged; only bytes go further.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING

from app.vision.errors import ImageRejectedError
from app.vision.intake import check_declared_size

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import Message

logger = logging.getLogger(__name__)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")


def file_of(message: Message, limit: int) -> tuple[str, int | None] | None:
    """(file_id, declared size) of the best image in `message`, or None if it has none."""
    if message.photo:
        fitting = [p for p in message.photo if p.file_size is None or p.file_size <= limit]
        best = max(fitting or message.photo[:1], key=lambda p: p.width * p.height)
        return best.file_id, best.file_size
    document = message.document
    if document is not None and (document.mime_type or "") in IMAGE_TYPES:
        return document.file_id, document.file_size
    return None


async def download(bot: Bot, message: Message, limit: int) -> bytes | None:
    """The image bytes; None when the message has no image. Raises `ImageRejectedError` for a
    declared size over `limit` (nothing is downloaded then)."""
    found = file_of(message, limit)
    if found is None:
        return None
    file_id, size = found
    check_declared_size(size, limit)
    file = await bot.get_file(file_id)
    check_declared_size(file.file_size, limit)
    if file.file_path is None:
        raise ImageRejectedError("Telegram gave no file path")
    buffer = io.BytesIO()
    await bot.download_file(file.file_path, destination=buffer)
    return buffer.getvalue()
