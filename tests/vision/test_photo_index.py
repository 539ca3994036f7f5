"""The second stage through `identify()` over the demo catalog in Postgres, and the photo index
kept current on photo changes only."""

from __future__ import annotations

from decimal import Decimal
from functools import partial

import pytest

from app.cache.memory import MemoryBackend
from app.cache.product import ProductCache
from app.cache.vision import VisionCache
from app.catalog.importer import import_catalog
from app.catalog.service import CatalogService, load_card
from app.catalog.version import CatalogVersion
from app.config import VisionSettings
from app.vision.pipeline import CatalogPhotoIndex, PhotoIdentifier
from tests.fixtures_demo import HASHER, demo_items
from tests.vision.customer import chat_screenshot, cropped, customer_photo, demo_image


async def make_identifier(session_factory, db, *, memory: int = 160 << 20):
    version = CatalogVersion(db)
    await version.start()
    backend = MemoryBackend()
    cards = ProductCache(
        backend, partial(load_card, session_factory), ttl=60, version=version.current
    )
    index = CatalogPhotoIndex(session_factory, version, feature_memory_bytes=memory)
    identifier = PhotoIdentifier(
        cache=VisionCache(backend, ttl=60, max_distance=6),
        index=index,
        cards=cards.get,
        version=version,
        settings=VisionSettings(),
    )
    return identifier, index, version


@pytest.fixture(name="demo")
async def fx_demo(session_factory, db):
    await import_catalog(session_factory, demo_items(), photo_hasher=HASHER)
    identifier, index, version = await make_identifier(session_factory, db)
    yield identifier, index
    identifier.close()
    await index.close()
    await version.stop()


async def test_a_cropped_mirror_selfie_gets_its_product_from_the_second_stage(demo):
    identifier, _ = demo
    photo = customer_photo("KR-KS-004.png")

    first = await identifier.identify(photo)
    again = await identifier.identify(photo)

    assert (first.sku, first.source) == ("KR-KS-004", "features")
    assert first.confidence >= 0.8
    assert "features" in first.timings_ms
    assert (again.sku, again.source) == ("KR-KS-004", "cache")


async def test_a_screenshot_of_a_cropped_repost_is_identified(demo):
    identifier, _ = demo

    result = await identifier.identify(chat_screenshot(cropped(demo_image("KR-TS-003.png"), 0.1)))

    assert (result.sku, result.source) == ("KR-TS-003", "features")


async def test_features_beyond_the_memory_budget_are_read_from_the_database(session_factory, db):
    await import_catalog(session_factory, demo_items(), photo_hasher=HASHER)
    identifier, index, version = await make_identifier(session_factory, db, memory=40_000)
    try:
        result = await identifier.identify(customer_photo("KR-SK-002.png"))
        _, features = await index.current()
    finally:
        identifier.close()
        await version.stop()

    assert (result.sku, result.source) == ("KR-SK-002", "features")
    assert features.store.nbytes <= 40_000 and len(features) == 45  # the active products


async def test_a_stock_change_does_not_rebuild_the_photo_index(demo, session_factory):
    identifier, index = demo
    await identifier.identify(customer_photo("KR-SW-002.png"))
    built = index.refreshes

    async with CatalogService(session_factory) as catalog:
        await catalog.set_stock("KR-KS-001", "M", "рожевий", 9)
        await catalog.set_price("KR-SW-002", Decimal("999"))
    await identifier.identify(customer_photo("KR-TR-001.png"))
    await index.wait()

    assert index.refreshes == built == 1


async def test_a_new_photo_is_loaded_in_the_background_while_the_old_index_serves(
    demo, session_factory
):
    identifier, index = demo
    items = demo_items()
    without_jackets = [i for i in items if not i.product.sku.startswith("KR-JK")]
    await import_catalog(session_factory, without_jackets, photo_hasher=HASHER, prune=True)
    await index.refresh()
    photo = customer_photo("KR-JK-003.png")
    assert (await identifier.identify(photo)).sku is None
    _, before = await index.current()
    index.refresh_wait_seconds = 0  # as if the refresh took longer than a photo may wait

    await import_catalog(session_factory, items, photo_hasher=HASHER)  # the jackets come back
    served = await identifier.identify(photo)  # answered by the old generation
    await index.wait()
    _, after = await index.current()
    found = await identifier.identify(photo)

    assert served.sku is None
    assert len(after) == len(before) + 5
    assert index.last_loaded == 5  # only the photos that changed were read
    assert (found.sku, found.source) == ("KR-JK-003", "features")


async def test_a_photo_added_just_now_is_found_by_the_next_photo(demo, session_factory):
    # A small refresh is waited for: the photo a manager uploads is identified at once.
    identifier, index = demo
    items = demo_items()
    without_jackets = [i for i in items if not i.product.sku.startswith("KR-JK")]
    await import_catalog(session_factory, without_jackets, photo_hasher=HASHER, prune=True)
    await index.refresh()
    photo = customer_photo("KR-JK-003.png")
    assert (await identifier.identify(photo)).sku is None

    await import_catalog(session_factory, items, photo_hasher=HASHER)
    found = await identifier.identify(photo)

    assert found.sku == "KR-JK-003"


async def test_a_deactivated_product_leaves_the_feature_index(demo, session_factory):
    identifier, index = demo
    photo = customer_photo("KR-HD-003.png")
    assert (await identifier.identify(photo)).sku == "KR-HD-003"

    async with CatalogService(session_factory) as catalog:
        await catalog.deactivate("KR-HD-003")
    right_after = await identifier.identify(photo)
    await index.wait()
    _, features = await index.current()

    assert right_after.sku != "KR-HD-003"
    assert len(features) == 44
