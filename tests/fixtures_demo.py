"""The demo catalog (39 products, 47 photos) in the test database, with its text index."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from app.catalog.importer import CatalogItem, import_catalog, load_catalog
from app.config import VisionSettings
from app.rag.embedders import HashingEmbedder
from app.rag.indexer import reindex
from app.vision.pipeline import catalog_photo_hasher

DEMO = Path(__file__).resolve().parents[1] / "data" / "catalog" / "products_master.yaml"
# Hashing the demo photos is the slow part of an import: once per test session.
HASHER = cache(catalog_photo_hasher(VisionSettings()))


@cache
def demo_items() -> list[CatalogItem]:
    return load_catalog(DEMO, max_catalog_bytes=20_000_000, max_photo_bytes=5_000_000)


def demo_photo(name: str) -> bytes:
    return (DEMO.parent / "photos" / name).read_bytes()


@pytest.fixture(name="demo_catalog")
async def fx_demo_catalog(session_factory):
    await import_catalog(session_factory, demo_items(), photo_hasher=HASHER)
    await reindex(session_factory, HashingEmbedder())
    return demo_items()
