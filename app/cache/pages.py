"""The catalog page cache: answers of `GET /api/v1/products` (lists and searches) as JSON.

Kept true like product cards (`app.cache.product`): the key carries the catalog version, which
every catalog write bumps in the database (reservations too, since pages show `in_stock`), so
the first read after any commit misses and loads afresh; nothing has to invalidate anything. In
front of the backend sits a small in-process layer, emptied when the version moves: under 200
concurrent clients a cached page costs a dictionary lookup (keyed by the parameters themselves,
no encoding or hashing per request), not two queries and a pool slot. Each page is kept with
its ETag, computed once when it is stored, so conditional requests cost nothing either.
Concurrent misses of one page load once (single flight).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.cache.singleflight import SingleFlight
from app.observability.metrics import CACHE_REQUESTS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from app.cache.backend import CacheBackend
    from app.cache.product import VersionSource


def page_key(version: int, query: Mapping[str, object]) -> str:
    """The cache key of one page (its query parameters) as of one catalog version."""
    canonical = json.dumps(query, sort_keys=True, default=str, ensure_ascii=False)
    return f"page:{version}:{hashlib.sha256(canonical.encode()).hexdigest()[:32]}"


@dataclass(frozen=True)
class Page:
    """A page's JSON as sent, and its strong ETag (a hash of exactly those bytes)."""

    body: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Page:
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


class PageCache:
    """Catalog pages as JSON bytes, read through the cache under versioned keys."""

    L1_MAX = 1024
    """Pages kept in-process (a page of 20 summaries is about 3 KB)."""

    def __init__(self, backend: CacheBackend, ttl: float, version: VersionSource) -> None:
        self._backend = backend
        self._ttl = ttl
        self._version = version
        self._flight: SingleFlight[str, bytes] = SingleFlight()
        self._l1: dict[tuple[tuple[str, object], ...], Page] = {}
        self._l1_version = -1

    async def get(self, query: Mapping[str, object], load: Callable[[], Awaitable[bytes]]) -> bytes:
        """The page for `query`, from the cache or from `load()` (which reads the database)."""
        return (await self.get_page(query, load)).body

    async def get_page(
        self, query: Mapping[str, object], load: Callable[[], Awaitable[bytes]]
    ) -> Page:
        """`get`, with the page's ETag."""
        version = await self._version()
        if version != self._l1_version:
            self._l1.clear()
            self._l1_version = version
        local = tuple(sorted(query.items()))  # values are str, int, bool, Decimal or None
        page = self._l1.get(local)
        if page is not None:
            CACHE_REQUESTS.labels("page", "hit").inc()
            return page
        key = page_key(version, query)
        body = await self._backend.get(key)
        if body is not None:
            CACHE_REQUESTS.labels("page", "hit").inc()
        else:
            CACHE_REQUESTS.labels("page", "miss").inc()
            body = await self._flight.do(key, lambda: self._load(key, load))
        page = Page.of(body)
        # Kept only if no newer version was seen meanwhile. A page loaded after the version was
        # read is at least that new: a newer page under an older key is harmless, never the
        # reverse.
        if self._l1_version == version:
            if len(self._l1) >= self.L1_MAX:
                del self._l1[next(iter(self._l1))]  # the oldest: dicts keep insertion order
            self._l1[local] = page
        return page

    async def _load(self, key: str, load: Callable[[], Awaitable[bytes]]) -> bytes:
        body = await load()
        await self._backend.set(key, body, self._ttl)
        return body
