"""The product card cache: `Product` JSON under `product:{version}:{sku}`, loaded on a miss."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, TypeAlias

from pydantic import ValidationError

from app.cache.singleflight import SingleFlight
from app.catalog.schemas import Product
from app.observability.metrics import CACHE_REQUESTS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.cache.backend import CacheBackend

log = logging.getLogger(__name__)

ProductLoader: TypeAlias = "Callable[[str], Awaitable[Product | None]]"
"""Loads one card from the database; None when there is no such SKU."""


VersionSource: TypeAlias = "Callable[[], Awaitable[int]]"
"""The current catalog version (`app.catalog.version.CatalogVersion.current`)."""


CardEntry: TypeAlias = tuple[Product, bytes]
"""A card and its JSON."""


def product_key(sku: str, version: int) -> str:
    """The cache key of one product card as of one catalog version."""
    return f"product:{version}:{sku}"


class ProductCache:
    """Product cards read through the cache, under keys that carry the catalog version.

    Every catalog write bumps the version (database triggers), so the first read after a commit
    uses a new key and loads the new card: no writer, in this process or any other, has to
    remember to invalidate anything. Cards of old versions are never read again and expire.
    A miss loads the card once however many callers ask at the same moment (single flight).
    An unknown SKU (the loader returns None) is not cached, so a product created a moment later
    is found at once.

    In front of the backend sits a small in-process layer of parsed cards with their JSON. The
    version makes it as safe as the shared layer (it is emptied when the version moves), and it
    saves the round trip to Redis, the parsing and, for the API, the serialising.
    """

    L1_MAX = 4096

    def __init__(
        self,
        backend: CacheBackend,
        loader: ProductLoader,
        ttl: float,
        version: VersionSource,
    ) -> None:
        self._backend = backend
        self._loader = loader
        self._ttl = ttl
        self._version = version
        self._flight: SingleFlight[str, CardEntry | None] = SingleFlight()
        self._l1: dict[str, CardEntry] = {}
        self._l1_version = -1

    async def get(self, sku: str) -> Product | None:
        """The card of `sku`, or None when the catalog has no such product."""
        entry = await self.get_entry(sku)
        return None if entry is None else entry[0]

    async def get_entry(self, sku: str) -> CardEntry | None:
        """The card of `sku` with its JSON encoding, or None when there is no such product."""
        version = await self._version()
        if version != self._l1_version:
            self._l1.clear()
            self._l1_version = version
        entry = self._l1.get(sku)
        if entry is None:
            entry = await self._get_shared(sku, product_key(sku, version))
            # Keep it only if no newer version was seen while we waited.
            if entry is not None and self._l1_version == version:
                if len(self._l1) >= self.L1_MAX:
                    del self._l1[next(iter(self._l1))]  # the oldest: dicts keep insertion order
                self._l1[sku] = entry
        else:
            CACHE_REQUESTS.labels("product", "hit").inc()
        return entry

    async def _get_shared(self, sku: str, key: str) -> CardEntry | None:
        raw = await self._backend.get(key)
        if raw is not None:
            try:
                product = Product.model_validate_json(raw)
            except ValidationError:
                # Written by an older version of the schema: load it again.
                log.info("cached product %s no longer decodes; reloading", sku)
            else:
                CACHE_REQUESTS.labels("product", "hit").inc()
                return product, raw
        CACHE_REQUESTS.labels("product", "miss").inc()
        return await self._flight.do(key, lambda: self._load(sku, key))

    async def _load(self, sku: str, key: str) -> CardEntry | None:
        # The row read here is at least as new as the version in `key`: storing a newer card
        # under an older version's key is harmless, the reverse cannot happen.
        product = await self._loader(sku)
        if product is None:
            return None
        raw = product.model_dump_json().encode()
        await self._backend.set(key, raw, self._ttl)
        return product, raw
