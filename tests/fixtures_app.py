"""The running app, reached through Litestar's test client (real routing, lifespan and DB)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from app.config import DatabaseSettings, Settings
from app.server import create_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Litestar
    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine

ADMIN_TOKEN = "test-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def app_settings(database_url: URL, **overrides: object) -> Settings:
    url = SecretStr(database_url.render_as_string(hide_password=False))
    fields: dict[str, object] = {
        "database": DatabaseSettings(url=url),
        "admin_token": SecretStr(ADMIN_TOKEN),
    }
    fields.update(overrides)
    return Settings(**fields)  # type: ignore[arg-type]


@pytest.fixture(name="settings")
def fx_settings(database_url: URL, db: AsyncEngine) -> Settings:
    return app_settings(database_url)


@pytest.fixture(name="app")
def fx_app(settings: Settings) -> Litestar:
    return create_app(settings)


@pytest.fixture(name="client")
async def fx_client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app) as client:
        yield client


def run_in(loop: Any, coroutine: Any) -> Any:
    """Run `coroutine` on `loop` (a test's running loop) from another thread, and wait.

    Hypothesis cannot drive async tests itself: an async test runs its `@given` function with
    `asyncio.to_thread`, and that function reaches the app (bound to the test's loop) by this.
    """
    import asyncio

    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(60)
