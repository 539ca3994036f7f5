"""Catalog pages (`GET /api/v1/products`) are cached by catalog version: fast, never stale."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from prometheus_client import REGISTRY
from sqlalchemy import text

from app.cache.memory import MemoryBackend
from app.cache.pages import PageCache, page_key
from tests.factories import add_product
from tests.fixtures_app import ADMIN


def page_results(result: str) -> float:
    labels = {"cache": "page", "result": result}
    return REGISTRY.get_sample_value("cache_requests_total", labels) or 0


async def test_a_repeated_page_is_served_from_the_cache(client, session_factory):
    await add_product(session_factory, sku="KR-P-1", name="Худі «Ритм»", price=Decimal("1500"))
    first = await client.get("/api/v1/products", params={"q": "ритм"})
    misses, hits = page_results("miss"), page_results("hit")

    again = await client.get("/api/v1/products", params={"q": "ритм"})

    assert again.status_code == 200
    assert again.content == first.content
    assert page_results("hit") == hits + 1
    assert page_results("miss") == misses


async def test_a_price_change_shows_in_the_very_next_page(client, session_factory):
    await add_product(session_factory, sku="KR-P-2", name="Сукня «Лагуна»", price=Decimal("2100"))
    before = await client.get("/api/v1/products")
    assert before.json()["items"][0]["price"] == "2100.00"

    changed = await client.put(
        "/api/v1/admin/products/KR-P-2/price", json={"price": "1999.00"}, headers=ADMIN
    )
    assert changed.status_code == 200
    after = await client.get("/api/v1/products")

    assert after.json()["items"][0]["price"] == "1999.00"


async def test_a_write_by_another_process_shows_too(client, session_factory, db):
    await add_product(session_factory, sku="KR-P-3", name="Светр «Хмаринка»", price=Decimal("900"))
    assert (await client.get("/api/v1/products")).json()["items"][0]["price"] == "900.00"

    # As psql or another replica would: the trigger bumps the version, NOTIFY reaches the app.
    async with db.begin() as conn:
        await conn.execute(text("UPDATE products SET price = 950 WHERE sku = 'KR-P-3'"))
    for _ in range(100):
        page = (await client.get("/api/v1/products")).json()
        if page["items"][0]["price"] == "950.00":
            break
        await asyncio.sleep(0.02)
    assert page["items"][0]["price"] == "950.00"


async def test_concurrent_misses_of_one_page_load_once():
    loads = 0
    version = 7

    async def current() -> int:
        return version

    async def load() -> bytes:
        nonlocal loads
        loads += 1
        await asyncio.sleep(0.05)
        return b'{"items": []}'

    cache = PageCache(MemoryBackend(), 60, current)
    pages = await asyncio.gather(*(cache.get({"q": "x"}, load) for _ in range(50)))

    assert loads == 1
    assert set(pages) == {b'{"items": []}'}
    version = 8  # any catalog write: a new key, loaded afresh
    await cache.get({"q": "x"}, load)
    assert loads == 2


def test_keys_differ_by_version_and_by_every_parameter():
    base = {"query": "худі", "limit": 20, "offset": 0}
    assert page_key(1, base) == page_key(1, dict(reversed(base.items())))
    assert page_key(1, base) != page_key(2, base)
    assert page_key(1, base) != page_key(1, {**base, "offset": 20})


async def test_a_page_revalidates_with_its_etag_until_the_catalog_changes(client, session_factory):
    await add_product(session_factory, sku="KR-P-4", name="Куртка «Вітер»", price=Decimal("3000"))
    first = await client.get("/api/v1/products")
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"

    unchanged = await client.get("/api/v1/products", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == etag
    other_page = await client.get("/api/v1/products?q=светр", headers={"If-None-Match": etag})
    assert other_page.status_code == 200 and other_page.headers["etag"] != etag

    changed = await client.put(
        "/api/v1/admin/products/KR-P-4/price", json={"price": "2999.00"}, headers=ADMIN
    )
    assert changed.status_code == 200
    after = await client.get("/api/v1/products", headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag
    assert after.json()["items"][0]["price"] == "2999.00"
