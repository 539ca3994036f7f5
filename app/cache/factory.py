"""Chooses the cache backend from the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.cache.memory import MemoryBackend
from app.cache.redis import RedisBackend

if TYPE_CHECKING:
    from app.cache.backend import CacheBackend
    from app.config import Settings


def create_backend(settings: Settings) -> CacheBackend:
    """Redis when `KRAMAR_REDIS_URL` is set (shared by all replicas), in-process otherwise."""
    if settings.redis.url is not None:
        return RedisBackend(
            settings.redis.url.get_secret_value(), max_connections=settings.redis.max_connections
        )
    return MemoryBackend()
