"""Photos stored without current features get them in the background, from their stored bytes."""

from __future__ import annotations

import asyncio
import time
from functools import cache

from sqlalchemy import func, select, text

from app.catalog.importer import IMPORT_LOCK_ID, import_catalog
from app.catalog.models import Photo
from app.config import VisionSettings
from app.rag.indexer import REINDEX_LOCK_ID
from app.services import open_services
from app.vision.backfill import backfill_features
from app.vision.pipeline import catalog_photo_hasher, features_version
from tests.fixtures_app import app_settings
from tests.fixtures_demo import HASHER, demo_items
from tests.vision.customer import customer_photo

# The hashes only, as photos were stored before the second stage (or with another vocabulary).
HASHES_ONLY = cache(catalog_photo_hasher(VisionSettings(features=False)))


async def versions(session_factory) -> dict[str | None, int]:
    async with session_factory() as session:
        rows = await session.execute(
            select(Photo.features_version, func.count()).group_by(Photo.features_version)
        )
        return {version: count for version, count in rows}


async def test_photos_stored_without_features_get_them_once(session_factory):
    await import_catalog(session_factory, demo_items()[:6], photo_hasher=HASHES_ONLY)
    stored = await versions(session_factory)

    written = await backfill_features(session_factory, HASHER, features_version(), batch=4)
    again = await backfill_features(session_factory, HASHER, features_version())

    assert stored == {None: 8}
    assert (written, again) == (8, 0)
    assert await versions(session_factory) == {features_version(): 8}


async def test_the_backfill_waits_for_a_running_import(session_factory, db):
    await import_catalog(session_factory, demo_items()[:2], photo_hasher=HASHES_ONLY)
    async with db.connect() as importing, importing.begin():
        # What an import holds while it writes photos.
        await importing.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": IMPORT_LOCK_ID})
        backfill = asyncio.create_task(
            backfill_features(session_factory, HASHER, features_version(), retry_seconds=0.05)
        )
        await asyncio.sleep(0.3)
        during = await versions(session_factory)
    written = await asyncio.wait_for(backfill, 30)

    assert during == {None: 3}
    assert written == 3


async def test_a_running_reindex_holds_up_neither_an_import_nor_the_backfill(session_factory, db):
    # The two locks had the same number by accident: a re-embedding of a large catalog (minutes)
    # held every import and the features backfill until it ended.
    async with db.connect() as indexing, indexing.begin():
        # What a reindex holds while it embeds.
        await indexing.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": REINDEX_LOCK_ID})
        await asyncio.wait_for(
            import_catalog(session_factory, demo_items()[:2], photo_hasher=HASHES_ONLY), 10
        )
        written = await asyncio.wait_for(
            backfill_features(session_factory, HASHER, features_version(), retry_seconds=0.05), 10
        )
    assert written == 3


async def test_a_photo_that_cannot_be_analysed_is_skipped_not_retried(session_factory):
    await import_catalog(session_factory, demo_items()[:2], photo_hasher=HASHES_ONLY)
    calls: list[int] = []

    def failing(content: bytes):
        calls.append(len(content))
        raise ValueError("the limits were lowered since the import")

    written = await backfill_features(session_factory, failing, features_version())

    assert written == 0 and len(calls) == 3
    assert await versions(session_factory) == {None: 3}


async def test_after_an_upgrade_the_app_identifies_a_mirror_selfie_by_its_features(
    database_url, db, session_factory
):
    """A shop whose photos were stored before the second stage: nothing is imported again (the
    operator and `--if-empty` would not), yet the started app soon recognises the selfie."""
    await import_catalog(session_factory, demo_items(), photo_hasher=HASHES_ONLY)
    photo = customer_photo("KR-SW-002.png")

    # What `kramar serve` and `kramar chat` open at start-up.
    async with open_services(app_settings(database_url)) as services:
        deadline = time.monotonic() + 60
        while (found := await services.identifier.identify(photo)).source != "features":
            assert time.monotonic() < deadline, found
            await asyncio.sleep(0.2)
        while await versions(session_factory) != {features_version(): 47}:
            assert time.monotonic() < deadline, await versions(session_factory)
            await asyncio.sleep(0.2)

    assert found.sku == "KR-SW-002" and found.confidence >= 0.8
