"""identify(photo) end to end over the demo catalog in Postgres: cache → photo index → none."""

from __future__ import annotations

import io
from functools import cache, partial
from pathlib import Path

import pytest
from PIL import Image

from app.cache.memory import MemoryBackend
from app.cache.product import ProductCache
from app.cache.vision import VisionCache
from app.catalog.importer import import_catalog, load_catalog
from app.catalog.service import CatalogService, load_card
from app.catalog.version import CatalogVersion
from app.config import VisionSettings
from app.vision.errors import ImageRejectedError
from app.vision.pipeline import CatalogPhotoIndex, PhotoIdentifier, catalog_photo_hasher

DEMO = Path(__file__).resolve().parents[2] / "data" / "catalog" / "products_master.yaml"


def jpeg(data: bytes, quality: int = 50, scale: float = 1.0) -> bytes:
    img = Image.open(io.BytesIO(data)).convert("RGB")
    if scale != 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


# Hashing the demo photos is the slow part of the import; every test imports the same photos.
HASHER = cache(catalog_photo_hasher(VisionSettings()))
ITEMS = load_catalog(DEMO, max_catalog_bytes=20_000_000, max_photo_bytes=5_000_000)


@pytest.fixture(name="identifier")
async def fx_identifier(session_factory, db):
    settings = VisionSettings()
    await import_catalog(session_factory, ITEMS, photo_hasher=HASHER)
    version = CatalogVersion(db)
    await version.start()
    backend = MemoryBackend()
    cards = ProductCache(
        backend, partial(load_card, session_factory), ttl=60, version=version.current
    )
    identifier = PhotoIdentifier(
        cache=VisionCache(backend, ttl=60, max_distance=6),
        index=CatalogPhotoIndex(session_factory, version),
        cards=cards.get,
        version=version,
        settings=settings,
    )
    yield identifier
    await version.stop()


def photo(name: str) -> bytes:
    return (DEMO.parent / "photos" / name).read_bytes()


async def test_a_shop_photo_is_found_in_the_photo_index_then_in_the_cache(identifier):
    first = await identifier.identify(jpeg(photo("KR-HD-001.png"), quality=40))
    again = await identifier.identify(jpeg(photo("KR-HD-001.png"), quality=40))

    assert (first.sku, first.source) == ("KR-HD-001", "photo_index")
    assert first.confidence > 0.5
    assert (again.sku, again.source) == ("KR-HD-001", "cache")
    assert {"hash", "cache", "index", "total"} <= first.timings_ms.keys()


async def test_a_near_duplicate_of_a_seen_photo_is_answered_from_the_cache(identifier):
    await identifier.identify(jpeg(photo("KR-DR-001.png"), quality=60))
    near = await identifier.identify(jpeg(photo("KR-DR-001.png"), quality=35, scale=0.8))
    assert (near.sku, near.source) == ("KR-DR-001", "cache")


async def test_a_second_view_of_a_product_is_found(identifier):
    result = await identifier.identify(jpeg(photo("KR-JK-003-2.png")))
    assert result.sku == "KR-JK-003"


async def test_an_unknown_picture_is_not_found(identifier):
    noise = Image.effect_noise((400, 500), 80).convert("RGB")
    out = io.BytesIO()
    noise.save(out, "PNG")
    result = await identifier.identify(out.getvalue())
    assert (result.sku, result.source) == (None, "none")


async def test_a_deactivated_product_is_never_answered_from_the_cache(identifier, session_factory):
    data = jpeg(photo("KR-TS-002.png"))
    assert (await identifier.identify(data)).source == "photo_index"

    async with CatalogService(session_factory) as catalog:
        await catalog.deactivate("KR-TS-002")

    result = await identifier.identify(data)
    # Never the deactivated product; its near twin (KR-TS-001) may be offered at low confidence
    # by the second stage, now that the refreshed index no longer holds KR-TS-002.
    assert result.sku != "KR-TS-002" and result.source != "cache"
    assert result.sku is None or result.confidence < 0.8


async def test_a_changed_product_is_identified_afresh(identifier, session_factory):
    from app.catalog.schemas import ProductUpdate

    data = jpeg(photo("KR-SK-001.png"))
    await identifier.identify(data)
    async with CatalogService(session_factory) as catalog:
        await catalog.update_product("KR-SK-001", ProductUpdate(name="Спідниця «Хвиля 2»"))

    result = await identifier.identify(data)
    assert (result.sku, result.source) == ("KR-SK-001", "photo_index")


async def test_a_non_image_is_rejected_with_a_typed_error(identifier):
    with pytest.raises(ImageRejectedError):
        await identifier.identify(b"%PDF-1.7 not a photo")
