"""The assembled app: backends chosen by settings, schema check at start-up, caches kept true."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from app.catalog.service import CatalogService
from app.config import RedisSettings
from app.db.migrate import SchemaBehindError
from app.server import create_app
from tests.factories import add_product
from tests.fixtures_app import ADMIN, app_settings


async def test_with_redis_cards_are_cached_and_a_price_change_shows_at_once(
    database_url, db, redis_url, session_factory
):
    from redis.asyncio import Redis

    await add_product(session_factory, sku="KR-R-1")
    settings = app_settings(database_url, redis=RedisSettings(url=SecretStr(redis_url)))
    async with AsyncTestClient(create_app(settings)) as client:
        assert (await client.get("/api/v1/products/KR-R-1")).json()["price"] == "599.00"
        redis = Redis.from_url(redis_url)
        cached = [key async for key in redis.scan_iter("product:*:KR-R-1")]
        await redis.aclose()
        assert cached, "the card was not cached in Redis"

        await client.put(
            "/api/v1/admin/products/KR-R-1/price", json={"price": "649.00"}, headers=ADMIN
        )

        assert (await client.get("/api/v1/products/KR-R-1")).json()["price"] == "649.00"


async def test_a_write_by_another_process_reaches_a_cached_card(client, session_factory):
    await add_product(session_factory, sku="KR-O-1")
    assert (await client.get("/api/v1/products/KR-O-1")).json()["price"] == "599.00"

    # Like `kramar catalog import` or psql: a write the app's process takes no part in.
    async with CatalogService(session_factory) as catalog:
        await catalog.set_price("KR-O-1", Decimal("10.00"))

    async with asyncio.timeout(2):  # the NOTIFY travels back through Postgres
        while (await client.get("/api/v1/products/KR-O-1")).json()["price"] != "10.00":  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_the_app_refuses_to_start_on_a_schema_that_is_behind(postgres):
    url = postgres.create_database("kramar_behind")
    # The test client runs the lifespan in a task group, which wraps what it raises.
    with pytest.raises(ExceptionGroup) as raised:
        async with AsyncTestClient(create_app(app_settings(url))):
            pass
    assert raised.group_contains(SchemaBehindError, match="kramar migrate", depth=None)


def _modules_after_start(env: dict[str, str]) -> set[str]:
    """Modules a fresh process has loaded once the app is built with `env`."""
    import json
    import os
    import subprocess
    import sys

    code = (
        "import json, sys; from app.server import create_app; create_app(); "
        "print(json.dumps(sorted(sys.modules)))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
    done = subprocess.run(
        [sys.executable, "-c", code], env={**clean, **env}, capture_output=True, check=True
    )
    return set(json.loads(done.stdout))


def test_without_a_bot_token_the_app_never_imports_aiogram():
    # aiogram's types take seconds to import: `make run` with no bot must not pay for them.
    assert not [name for name in _modules_after_start({}) if name.split(".")[0] == "aiogram"]
    with_bot = {
        "KRAMAR_TELEGRAM_BOT_TOKEN": "123:abc",
        "KRAMAR_TELEGRAM_WEBHOOK_SECRET": "s" * 32,
        "KRAMAR_PUBLIC_URL": "https://shop.example",
    }
    # With a bot the webhook route is there (aiogram itself comes with the first update).
    assert "app.bot.api" in _modules_after_start(with_bot)
