from __future__ import annotations

import asyncio

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from sqlalchemy import text

from app.config import TelegramSettings
from app.server import create_app
from tests.fixtures_app import app_settings
from tests.servers.telegram import TOKEN

SECRET = "webhook-secret-42"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
MANAGERS = -100500


def bot_settings(database_url, telegram, **overrides):
    fields = {
        "telegram": TelegramSettings(
            bot_token=SecretStr(TOKEN),
            webhook_secret=SecretStr(SECRET),
            api_url=telegram.url,
            per_chat_interval_seconds=0.0,
            global_interval_seconds=0.0,
            album_wait_seconds=0.3,
            poll_interval_seconds=0.1,
            lease_seconds=5,
            # One turn per message, and no holding message when a loaded machine makes a turn
            # slow: tests count the answers. Both are tested in test_alive.py.
            burst_max=1,
            holding_seconds=0,
        ),
        "public_url": "https://shop.example",
        "manager_chat_id": MANAGERS,
    }
    fields.update(overrides)
    return app_settings(database_url, **fields)


@pytest.fixture(name="bot_client")
async def fx_bot_client(database_url, db, telegram, demo_catalog):
    app = create_app(bot_settings(database_url, telegram))
    async with AsyncTestClient(app) as client:
        yield client


async def wait_for(telegram, condition, seconds=10.0):
    return await asyncio.to_thread(telegram.wait_for, condition, seconds)


async def turn_finished(client, update_id: int, seconds: float = 20.0) -> None:
    """Until the bot's turn for `update_id` is over (its inbox row no longer pending), so every
    reply it sent is in; at once if the update was never stored (refused at the webhook).

    `client` is the app's AsyncTestClient: the app runs in the client's own event loop, so the
    query runs there, through the client's portal."""
    engine = client.app.state.db.engine

    async def status() -> str | None:
        async with engine.connect() as conn:
            found: str | None = await conn.scalar(
                text("SELECT status FROM telegram_inbox WHERE update_id = :id"), {"id": update_id}
            )
        return found

    deadline = asyncio.get_running_loop().time() + seconds
    while await asyncio.to_thread(client.blocking_portal.call, status) == "pending":
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"update {update_id} still pending after {seconds} s")
        await asyncio.sleep(0.02)
