"""Photo downloads through the webhook: bounded work, and an answer whatever Telegram does."""

from __future__ import annotations

import asyncio

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.bot.failures import DOWNLOAD_FAILED
from app.config import VisionSettings
from app.dialog.texts import REJECTED_PHOTO
from app.server import create_app
from tests.bot.conftest import HEADERS, bot_settings, wait_for
from tests.fixtures_demo import demo_photo

LIMIT = 1024 * 1024


@pytest.fixture(name="photo_client")
async def fx_photo_client(database_url, db, telegram, demo_catalog):
    settings = bot_settings(database_url, telegram, vision=VisionSettings(max_bytes=LIMIT))
    settings.telegram = settings.telegram.model_copy(update={"download_timeout_seconds": 0.5})
    async with AsyncTestClient(create_app(settings)) as client:
        yield client


async def send_photo(client, telegram, photo_sizes, *, chat=7, album=None):
    update = telegram.message_update(chat)
    update["message"]["photo"] = photo_sizes
    if album is not None:
        update["message"]["media_group_id"] = album
    response = await client.post("/telegram/webhook", json=update, headers=HEADERS)
    assert response.status_code == 200
    return update


async def inbox_rows(db, seconds: float = 3.0):
    """(status, attempts) of the inbox rows, once none is pending (or after `seconds`)."""
    for _ in range(int(seconds / 0.05)):
        async with db.connect() as conn:
            rows = [
                tuple(r)
                for r in await conn.execute(text("SELECT status, attempts FROM telegram_inbox"))
            ]
        if all(status != "pending" for status, _ in rows):
            break
        await asyncio.sleep(0.05)
    return rows


async def test_only_the_album_parts_that_are_identified_are_downloaded(photo_client, telegram):
    photo = demo_photo("KR-HD-001.png")
    for _ in range(6):
        await send_photo(photo_client, telegram, telegram.photo_sizes(photo), album="a-6")
    await wait_for(telegram, 1)
    await asyncio.sleep(0.5)
    assert len(telegram.calls_to("getFile")) == 3
    assert len(telegram.downloads) == 3


@pytest.mark.parametrize("declared", [100_000, None])
async def test_a_file_larger_than_declared_stops_at_the_byte_limit(
    photo_client, telegram, db, declared
):
    huge = b"\x89PNG\r\n\x1a\n" + bytes(25 * 1024 * 1024)
    stored = telegram.add_file(huge, width=6000, height=6000, declared_size=declared)
    await send_photo(photo_client, telegram, [stored.photo_size()])
    [reply] = await wait_for(telegram, 1)
    assert reply.visible == REJECTED_PHOTO
    # The stand-in records a download when its last write ends, which may be after the bot
    # hung up and answered.
    for _ in range(100):
        if telegram.downloads:
            break
        await asyncio.sleep(0.05)
    [(_path, taken)] = telegram.downloads
    # The client hung up: what the stand-in wrote is what we read (~1 MiB) plus what the
    # loopback socket buffers took meanwhile (up to ~9 MiB with Linux's default autotuning).
    assert taken < 0.6 * len(huge), taken
    assert await inbox_rows(db) == [("done", 1)]


async def test_a_photo_telegram_refuses_to_hand_over_is_answered_not_retried(
    photo_client, telegram, db
):
    telegram.fail("getFile", 400, description="Bad Request: wrong file identifier", times=5)
    await send_photo(photo_client, telegram, telegram.photo_sizes(demo_photo("KR-HD-001.png")))
    [reply] = await wait_for(telegram, 1)
    assert reply.visible == DOWNLOAD_FAILED
    await asyncio.sleep(0.5)
    assert len(telegram.calls_to("getFile")) == 1
    assert await inbox_rows(db) == [("done", 1)]


async def test_a_file_route_404_is_answered_not_retried(photo_client, telegram, db):
    telegram.fail_downloads(404, times=5)
    await send_photo(photo_client, telegram, telegram.photo_sizes(demo_photo("KR-HD-001.png")))
    [reply] = await wait_for(telegram, 1)
    assert reply.visible == DOWNLOAD_FAILED
    assert len(telegram.calls_to("getFile")) == 1
    assert await inbox_rows(db) == [("done", 1)]


async def test_a_download_that_times_out_is_tried_once_more_then_answered(
    photo_client, telegram, db
):
    telegram.hang_downloads(3.0, times=2)
    await send_photo(photo_client, telegram, telegram.photo_sizes(demo_photo("KR-HD-001.png")))
    [reply] = await wait_for(telegram, 1, seconds=15)
    assert reply.visible == DOWNLOAD_FAILED
    assert len(telegram.calls_to("getFile")) == 2
    assert await inbox_rows(db) == [("done", 1)]


async def test_a_passing_telegram_outage_is_retried_and_the_photo_identified(
    photo_client, telegram
):
    telegram.fail("getFile", 502)
    await send_photo(photo_client, telegram, telegram.photo_sizes(demo_photo("KR-HD-001.png")))
    [card] = await wait_for(telegram, 1, seconds=15)
    assert card.method == "sendPhoto" and "Худі" in card.visible
