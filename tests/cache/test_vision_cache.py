"""The vision result cache on both backends: exact, near-duplicate and byte-identical lookups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.cache.vision import MAX_NEAR_DISTANCE, VisionCache, VisionEntry
from app.vision.hashing import PhotoHashes

PHASH = 0x9F3A_5C21_7E0B_44D1
COLOR = 0x2_1234_5678


def entry(sku: str = "KR-KS-001") -> VisionEntry:
    return VisionEntry(
        sku=sku,
        confidence=0.93,
        source="photo_index",
        catalog_version=7,
        product_updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


def flipped(value: int, bits: list[int]) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


async def test_exact_hash_is_found(backend):
    cache = VisionCache(backend, ttl=60, max_distance=6)
    await cache.put(PhotoHashes(PHASH, COLOR), entry())
    assert await cache.get(PhotoHashes(PHASH, COLOR)) == entry()


async def test_near_duplicate_within_the_distance_is_found(backend):
    cache = VisionCache(backend, ttl=60, max_distance=6)
    await cache.put(PhotoHashes(PHASH, COLOR), entry())
    # Six flipped bits spread over six different bands: only two bands still match exactly.
    near = PhotoHashes(flipped(PHASH, [1, 9, 17, 25, 33, 41]), COLOR)
    assert await cache.get(near) == entry()


async def test_a_photo_beyond_the_distance_is_a_miss(backend):
    cache = VisionCache(backend, ttl=60, max_distance=6)
    await cache.put(PhotoHashes(PHASH, COLOR), entry())
    far = PhotoHashes(flipped(PHASH, [1, 9, 17, 25, 33, 41, 49]), COLOR)
    assert await cache.get(far) is None


async def test_same_grey_levels_in_other_colours_is_a_miss(backend):
    cache = VisionCache(backend, ttl=60, max_distance=6)
    await cache.put(PhotoHashes(PHASH, COLOR), entry())
    other_colours = PhotoHashes(PHASH ^ 1, COLOR ^ 0x3FF)  # 10 colour bits differ
    assert await cache.get(other_colours) is None


async def test_the_nearest_of_two_entries_wins(backend):
    cache = VisionCache(backend, ttl=60, max_distance=6)
    await cache.put(PhotoHashes(flipped(PHASH, [0, 8, 16]), COLOR), entry("KR-FAR"))
    await cache.put(PhotoHashes(flipped(PHASH, [0]), COLOR), entry("KR-NEAR"))
    found = await cache.get(PhotoHashes(PHASH, COLOR))
    assert found is not None and found.sku == "KR-NEAR"


async def test_exact_bytes_point_at_their_hashes(backend):
    cache = VisionCache(backend, ttl=60, max_distance=6)
    hashes = PhotoHashes(PHASH, COLOR)
    await cache.put(hashes, entry(), sha256="ab" * 32)
    assert await cache.hashes_of_bytes("ab" * 32) == hashes
    assert await cache.hashes_of_bytes("cd" * 32) is None


async def test_forgotten_entry_is_a_miss(backend):
    cache = VisionCache(backend, ttl=60, max_distance=6)
    await cache.put(PhotoHashes(PHASH, COLOR), entry())
    await cache.forget(PhotoHashes(PHASH, COLOR))
    assert await cache.get(PhotoHashes(PHASH, COLOR)) is None


async def test_entries_expire(backend):
    import asyncio

    cache = VisionCache(backend, ttl=0.2, max_distance=6)
    await cache.put(PhotoHashes(PHASH, COLOR), entry())
    await asyncio.sleep(0.35)
    assert await cache.get(PhotoHashes(PHASH, COLOR)) is None


def test_distance_beyond_what_bands_guarantee_is_refused(backend):
    with pytest.raises(ValueError, match="max_distance"):
        VisionCache(backend, ttl=60, max_distance=MAX_NEAR_DISTANCE + 1)
