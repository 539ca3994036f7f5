"""The product card cache on both backends: hits, misses, single flight and invalidation."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from prometheus_client import REGISTRY

from app.cache.product import ProductCache, product_key
from app.catalog.schemas import Photo, Product, Variant

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.cache.backend import CacheBackend


def make_product(sku: str, price: str = "1299.00") -> Product:
    return Product(
        sku=sku,
        name="Светр оверсайз",
        category="светри",
        price=Decimal(price),
        in_stock=True,
        active=True,
        description="Теплий светр з вовни",
        sizes=["S", "M"],
        colours=["чорний"],
        variants=[
            Variant(size="S", colour="чорний", available=2),
            Variant(size="M", colour="чорний", available=0),
        ],
        visual_features="крупна в'язка",
        recognition_tips="",
        tags=["зима"],
        photos=[Photo(position=0, url="/api/products/KR-1/photos/0")],
        updated_at=datetime(2024, 11, 5, 12, 30, tzinfo=UTC),
    )


class Catalog:
    """Stands in for the database: the loader reads `rows`; `gate` can hold every load."""

    def __init__(self, *products: Product) -> None:
        self.rows = {p.sku: p for p in products}
        self.calls = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.failure: Exception | None = None
        self.catalog_version = 1

    async def version(self) -> int:
        return self.catalog_version

    def write(self, product: Product) -> None:
        """A committed catalog write: the row changes and the version moves on."""
        self.rows[product.sku] = product
        self.catalog_version += 1

    async def load(self, sku: str) -> Product | None:
        self.calls += 1
        row = self.rows.get(sku)  # read before waiting, like a query that already ran
        await self.gate.wait()
        if self.failure is not None:
            raise self.failure
        return row


def product_requests(result: str) -> float:
    labels = {"cache": "product", "result": result}
    return REGISTRY.get_sample_value("cache_requests_total", labels) or 0.0


async def wait_until(condition: Callable[[], bool], within: float = 2.0) -> None:
    async with asyncio.timeout(within):
        # Polling: the conditions are counters and metrics that have no event to wait on.
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)


async def test_miss_loads_and_stores_then_hit_skips_the_loader(backend: CacheBackend) -> None:
    catalog = Catalog(make_product("KR-1"))
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)
    hits, misses = product_requests("hit"), product_requests("miss")

    first = await cache.get("KR-1")
    second = await cache.get("KR-1")

    assert first == second == catalog.rows["KR-1"]
    assert catalog.calls == 1
    assert await backend.get(product_key("KR-1", 1)) is not None
    assert (product_requests("hit") - hits, product_requests("miss") - misses) == (1, 1)


async def test_cached_card_decodes_to_an_equal_product(backend: CacheBackend) -> None:
    product = make_product("KR-1", price="1299.50")
    writer_catalog = Catalog(product)
    writer = ProductCache(backend, writer_catalog.load, ttl=60, version=writer_catalog.version)
    await writer.get("KR-1")
    reader_catalog = Catalog()  # a cache in another process with an empty loader: must hit
    reader = ProductCache(backend, reader_catalog.load, ttl=60, version=reader_catalog.version)

    cached = await reader.get("KR-1")

    assert cached == product
    assert cached is not None and cached.price == Decimal("1299.50")
    assert reader_catalog.calls == 0


async def test_concurrent_misses_of_one_sku_load_it_once(backend: CacheBackend) -> None:
    catalog = Catalog(make_product("KR-1"))
    catalog.gate.clear()
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)
    misses = product_requests("miss")

    getters = [asyncio.create_task(cache.get("KR-1")) for _ in range(20)]
    # Hold the load until all 20 have missed the cache and joined it.
    await wait_until(lambda: product_requests("miss") - misses == 20)
    catalog.gate.set()
    results = await asyncio.gather(*getters)

    assert catalog.calls == 1
    assert all(r == catalog.rows["KR-1"] for r in results)


async def test_concurrent_misses_of_different_skus_load_each(backend: CacheBackend) -> None:
    catalog = Catalog(make_product("KR-1"), make_product("KR-2"))
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)

    one, two = await asyncio.gather(cache.get("KR-1"), cache.get("KR-2"))

    assert (one, two) == (catalog.rows["KR-1"], catalog.rows["KR-2"])
    assert catalog.calls == 2


async def test_unknown_sku_is_not_cached(backend: CacheBackend) -> None:
    catalog = Catalog()
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)
    assert await cache.get("KR-404") is None

    catalog.rows["KR-404"] = make_product("KR-404")  # created a moment later

    assert await cache.get("KR-404") == catalog.rows["KR-404"]
    assert catalog.calls == 2


async def test_a_new_catalog_version_makes_the_next_get_load_again(backend: CacheBackend) -> None:
    catalog = Catalog(make_product("KR-1"), make_product("KR-2"))
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)
    await cache.get("KR-1")
    await cache.get("KR-2")

    catalog.write(make_product("KR-1", price="999.00"))
    one, two = await cache.get("KR-1"), await cache.get("KR-2")

    assert one is not None and one.price == Decimal("999.00")
    assert two is not None and two.price == Decimal("1299.00")
    assert catalog.calls == 4  # every card misses once after any write


async def test_a_write_by_another_process_is_seen_at_once(backend: CacheBackend) -> None:
    catalog = Catalog(make_product("KR-1"))
    ours = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)
    await ours.get("KR-1")

    catalog.write(make_product("KR-1", price="10.00"))  # nobody tells `ours` anything

    fresh = await ours.get("KR-1")
    assert fresh is not None and fresh.price == Decimal("10.00")


async def test_load_that_raced_a_write_is_not_served_for_the_new_version(
    backend: CacheBackend,
) -> None:
    catalog = Catalog(make_product("KR-1"))
    catalog.gate.clear()
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)
    stale_get = asyncio.create_task(cache.get("KR-1"))
    await wait_until(lambda: catalog.calls == 1)  # the old row is read
    catalog.write(make_product("KR-1", price="999.00"))  # a write commits meanwhile

    catalog.gate.set()
    await stale_get

    fresh = await cache.get("KR-1")
    assert fresh is not None and fresh.price == Decimal("999.00")
    assert catalog.calls == 2


async def test_loader_error_reaches_the_caller_and_is_not_cached(backend: CacheBackend) -> None:
    catalog = Catalog(make_product("KR-1"))
    catalog.failure = ConnectionError("database is down")
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)

    with pytest.raises(ConnectionError, match="database is down"):
        await cache.get("KR-1")
    catalog.failure = None

    assert await cache.get("KR-1") == catalog.rows["KR-1"]
    assert catalog.calls == 2


async def test_undecodable_cached_card_is_loaded_again(backend: CacheBackend) -> None:
    catalog = Catalog(make_product("KR-1"))
    cache = ProductCache(backend, catalog.load, ttl=60, version=catalog.version)
    await backend.set(
        product_key("KR-1", 1), b'{"sku": "KR-1", "written by": "an old version"}', 60
    )

    assert await cache.get("KR-1") == catalog.rows["KR-1"]
    assert catalog.calls == 1
