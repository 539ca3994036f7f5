from __future__ import annotations

import asyncio

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

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
