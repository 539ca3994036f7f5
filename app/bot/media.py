"""Photos from Telegram: the largest size under the limit, fetched as bytes, never beyond it.

The download goes through aiogram (`getFile`, then the file route). The file URL contains the
bot token, so it never leaves this module and is never logged; only bytes go further.

Telegram's declared sizes are checked before anything is fetched, but a size can be missing or
false, so the bytes are counted while they stream and the download stops at the limit. A
failure to fetch is a `DownloadFailedError`: the handler answers the customer, and the update
is not retried for what Telegram will not serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

import aiohttp
from aiogram.exceptions import TelegramAPIError

from app.bot.download_errors import DownloadFailedError
from app.bot.failures import is_transient
from app.vision.errors import ImageRejectedError, ImageTooLargeError
from app.vision.intake import check_declared_size

if TYPE_CHECKING:
    from aiogram import Bot
    from aiogram.types import Message

__all__ = ["DownloadFailedError", "download", "file_of"]

logger = logging.getLogger(__name__)

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp")
CHUNK_BYTES = 64 * 1024
RETRY_DELAY = 1.0
"""Seconds before the one retry of a download that failed for an outage (5xx, timeout)."""


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


async def download(
    bot: Bot, message: Message, limit: int, *, seconds: float = 20.0
) -> bytes | None:
    """The image bytes; None when the message has no image.

    Raises `ImageRejectedError` for a file over `limit` (declared, or counted while streaming:
    no more than `limit` bytes and one chunk are ever read), and `DownloadFailedError` when
    Telegram does not hand it over within `seconds`; an outage is retried once first.
    """
    found = file_of(message, limit)
    if found is None:
        return None
    file_id, size = found
    check_declared_size(size, limit)
    try:
        return await _fetch(bot, file_id, limit, seconds)
    except ImageRejectedError:
        raise
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
        if not is_transient(error):
            raise DownloadFailedError(f"{type(error).__name__}: {error}") from error
        logger.warning("photo download failed (%s); retrying once", type(error).__name__)
    await asyncio.sleep(RETRY_DELAY)
    try:
        return await _fetch(bot, file_id, limit, seconds)
    except ImageRejectedError:
        raise
    except (TelegramAPIError, aiohttp.ClientError, TimeoutError) as error:
        raise DownloadFailedError(f"{type(error).__name__}: {error}") from error


async def _fetch(bot: Bot, file_id: str, limit: int, seconds: float) -> bytes:
    file = await bot.get_file(file_id)
    check_declared_size(file.file_size, limit)
    if file.file_path is None:
        raise DownloadFailedError("Telegram gave no file path")
    url = bot.session.api.file_url(bot.token, file.file_path)
    received = bytearray()
    chunks = bot.session.stream_content(
        url=url,
        timeout=seconds,  # type: ignore[arg-type]  # aiohttp takes any number of seconds
        chunk_size=CHUNK_BYTES,
        raise_for_status=True,
    )
    # aclosing: stopping early closes the response (and its connection) at once.
    async with contextlib.aclosing(chunks):
        async for chunk in chunks:
            received += chunk
            if len(received) > limit:
                raise ImageTooLargeError(len(received), limit)
    return bytes(received)
