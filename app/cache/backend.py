"""The interface every cache backend offers; `memory.py` and `redis.py` implement it.

Backends never raise on an outage: a failed read is a miss and a failed write is a no-op, so a
request is still served (the Redis backend logs once per outage and counts it in a metric).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import builtins
    from collections.abc import Sequence


class CacheBackend(Protocol):
    name: str
    """"memory" or "redis": the metric label of this backend."""

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent, expired, or the backend is unreachable."""

    async def get_and_touch(self, key: str, ttl: float) -> bytes | None:
        """Like `get`, and restart the key's TTL (sliding expiry)."""

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store `value` for `ttl` seconds."""

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        """Store `value` for `ttl` seconds only if `key` still holds `expected` (None: the key
        is absent); False when another writer changed it first. An unreachable backend counts
        as stored: a write there is lost whatever we do."""

    async def delete(self, *keys: str) -> None:
        """Forget these keys."""

    async def set_add(self, key: str, member: str, ttl: float) -> None:
        """Add `member` to the set at `key` and (re)start the set's TTL."""

    async def set_members_many(self, keys: Sequence[str]) -> list[builtins.set[str]]:
        """The members of each set, in one round trip; an absent set is empty."""

    async def close(self) -> None:
        """Release connections."""
