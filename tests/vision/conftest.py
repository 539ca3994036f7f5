"""An in-memory feature index of the demo catalog's photos, built once per test session."""

from __future__ import annotations

from functools import cache

import pytest

from app.vision.matcher import CatalogPhoto, FeatureIndex, FeatureStore
from app.vision.prepare import catalog_features
from app.vision.vocabulary import load_vocabulary
from tests.fixtures_demo import demo_items

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 40_000_000}


@cache
def demo_catalog_photos() -> tuple[CatalogPhoto, ...]:
    """Every demo photo with its features and words, numbered from 1 in catalog order."""
    vocabulary = load_vocabulary()
    photos: list[CatalogPhoto] = []
    for item in demo_items():
        for photo in item.photos:
            assert photo.content is not None
            found = catalog_features(photo.content, **LIMITS)
            photo_id = len(photos) + 1
            words = vocabulary.words(found.descriptors)
            photos.append(CatalogPhoto(photo_id, item.product.sku, words, found))
    return tuple(photos)


def feature_index(*, without: frozenset[str] = frozenset()) -> FeatureIndex:
    index = FeatureIndex(load_vocabulary(), FeatureStore(1 << 30))
    index.add(p for p in demo_catalog_photos() if p.sku not in without)
    return index


@pytest.fixture(name="demo_features")
def fx_demo_features() -> FeatureIndex:
    return feature_index()
