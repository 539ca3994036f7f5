"""Every cache test runs against both backends: in-process and a real Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from app.cache.memory import MemoryBackend
from app.cache.redis import RedisBackend

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from app.cache.backend import CacheBackend


@pytest.fixture(name="backend", params=["memory", "redis"])
async def fx_backend(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[CacheBackend]:
    backend: CacheBackend = (
        MemoryBackend() if request.param == "memory" else RedisBackend(redis_url)
    )
    yield backend
    await backend.close()
