"""The in-process cache backend: used when no Redis is configured (the embedded default)."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import builtins
    from collections.abc import Sequence


@dataclass(slots=True)
class _Entry:
    value: bytes | set[str]
    expires_at: float


class MemoryBackend:
    """A bounded LRU dictionary with per-key TTLs, for one process.

    Methods never await, so each one is atomic under asyncio and needs no lock. Expired keys are
    dropped when they are next looked at; the size bound evicts the least recently used key, so
    expired keys that nobody asks for again go first in practice.
    """

    name = "memory"

    def __init__(self, max_keys: int = 50_000) -> None:
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        """Keys held, expired ones not yet dropped included."""
        return len(self._entries)

    def _lookup(self, key: str) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires_at <= time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def _store(self, key: str, value: bytes | builtins.set[str], ttl: float) -> None:
        self._entries[key] = _Entry(value, time.monotonic() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_keys:
            self._entries.popitem(last=False)

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent, expired, or a set."""
        entry = self._lookup(key)
        if entry is None or not isinstance(entry.value, bytes):
            return None
        return entry.value

    async def get_and_touch(self, key: str, ttl: float) -> bytes | None:
        """Like `get`, and restart the key's TTL (sliding expiry)."""
        entry = self._lookup(key)
        if entry is None or not isinstance(entry.value, bytes):
            return None
        entry.expires_at = time.monotonic() + ttl
        return entry.value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store `value` for `ttl` seconds."""
        self._store(key, value, ttl)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        """Store `value` only if `key` still holds `expected` (None: absent); atomic, as it
        never awaits."""
        entry = self._lookup(key)
        current = entry.value if entry is not None and isinstance(entry.value, bytes) else None
        if current != expected:
            return False
        self._store(key, value, ttl)
        return True

    async def delete(self, *keys: str) -> None:
        """Forget these keys."""
        for key in keys:
            self._entries.pop(key, None)

    async def set_add(self, key: str, member: str, ttl: float) -> None:
        """Add `member` to the set at `key` and (re)start the set's TTL."""
        entry = self._lookup(key)
        # A string under the key is replaced, where Redis would refuse (WRONGTYPE, a miss for us).
        members = entry.value if entry is not None and isinstance(entry.value, set) else set()
        members.add(member)
        self._store(key, members, ttl)

    async def set_members_many(self, keys: Sequence[str]) -> list[builtins.set[str]]:
        """The members of each set; an absent set is empty."""
        result: list[set[str]] = []
        for key in keys:
            entry = self._lookup(key)
            members = entry.value if entry is not None and isinstance(entry.value, set) else set()
            result.append(set(members))  # a copy: callers must not change what we hold
        return result

    async def close(self) -> None:
        """Drop everything."""
        self._entries.clear()
