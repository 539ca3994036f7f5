from __future__ import annotations

import random

import pytest

from app.vision.hashing import PhotoHashes
from app.vision.index import MARGIN_BITS, IndexEntry, Match, PhotoIndex

COLOR = 0x00FF_00FF_00FF_00FF  # red in all four quarters
OTHER_COLOR = 0xFFC0_FFC0_FFC0_FFC0  # navy


def flip(value: int, bits: int, rng: random.Random) -> int:
    """`value` with `bits` distinct random bits flipped."""
    for bit in rng.sample(range(64), bits):
        value ^= 1 << bit
    return value


@pytest.fixture(name="rng")
def fx_rng() -> random.Random:
    return random.Random(42)


@pytest.fixture(name="crowd")
def fx_crowd(rng: random.Random) -> list[IndexEntry]:
    """10,000 photos of 5,000 products with random hashes."""
    return [
        IndexEntry(photo_id=i, sku=f"KR-R-{i // 2:05d}", phash=rng.getrandbits(64), colorhash=COLOR)
        for i in range(10_000)
    ]


def test_right_sku_is_found_among_10k_random_photos(
    crowd: list[IndexEntry], rng: random.Random
) -> None:
    query = rng.getrandbits(64)
    planted = [
        IndexEntry(20_001, "KR-TARGET", flip(query, 3, rng), COLOR),
        IndexEntry(20_002, "KR-TARGET", flip(query, 10, rng), COLOR),
        IndexEntry(20_003, "KR-DECOY", flip(query, 9, rng), COLOR),
    ]
    index = PhotoIndex.build([*crowd, *planted])

    match = index.nearest(PhotoHashes(query, COLOR), max_distance=12)

    assert match is not None
    assert (match.sku, match.photo_id, match.distance) == ("KR-TARGET", 20_001, 3)
    assert match.confidence > 0.8


def test_nothing_within_the_threshold_is_not_found(
    crowd: list[IndexEntry], rng: random.Random
) -> None:
    query = rng.getrandbits(64)
    index = PhotoIndex.build([*crowd, IndexEntry(20_001, "KR-FAR", flip(query, 14, rng), COLOR)])

    assert index.nearest(PhotoHashes(query, COLOR), max_distance=12) is None


def test_two_skus_equally_near_is_no_match(rng: random.Random) -> None:
    query = rng.getrandbits(64)
    index = PhotoIndex.build(
        [
            IndexEntry(1, "KR-A", flip(query, 4, rng), COLOR),
            IndexEntry(2, "KR-B", flip(query, 4, rng), COLOR),
        ]
    )

    assert index.nearest(PhotoHashes(query, COLOR), max_distance=12) is None


def test_a_close_rival_lowers_the_confidence(rng: random.Random) -> None:
    query = rng.getrandbits(64)
    best = IndexEntry(1, "KR-A", flip(query, 4, rng), COLOR)
    alone = PhotoIndex.build([best]).nearest(PhotoHashes(query, COLOR), max_distance=12)
    rivalled = PhotoIndex.build([best, IndexEntry(2, "KR-B", flip(query, 5, rng), COLOR)]).nearest(
        PhotoHashes(query, COLOR), max_distance=12
    )

    assert alone is not None and rivalled is not None
    assert rivalled.sku == "KR-A"
    assert rivalled.confidence == pytest.approx(alone.confidence / MARGIN_BITS)


def test_two_photos_of_the_same_sku_are_no_rivals(rng: random.Random) -> None:
    query = rng.getrandbits(64)
    index = PhotoIndex.build(
        [
            IndexEntry(1, "KR-A", flip(query, 4, rng), COLOR),
            IndexEntry(2, "KR-A", flip(query, 4, rng), COLOR),
        ]
    )

    match = index.nearest(PhotoHashes(query, COLOR), max_distance=12)

    assert match is not None and match.sku == "KR-A"


def test_confidence_falls_from_one_to_a_half_at_the_threshold(rng: random.Random) -> None:
    query = rng.getrandbits(64)

    def confidence(distance: int) -> float:
        index = PhotoIndex.build([IndexEntry(1, "KR-A", flip(query, distance, rng), COLOR)])
        match = index.nearest(PhotoHashes(query, COLOR), max_distance=12)
        assert match is not None
        return match.confidence

    assert confidence(0) == 1.0
    assert confidence(6) == pytest.approx(0.75)
    assert confidence(12) == pytest.approx(0.5)


def test_same_shape_in_another_colour_is_not_a_candidate(rng: random.Random) -> None:
    query = rng.getrandbits(64)
    index = PhotoIndex.build(
        [
            IndexEntry(1, "KR-NAVY", query, OTHER_COLOR),
            IndexEntry(2, "KR-RED", flip(query, 8, rng), COLOR),
        ]
    )

    match = index.nearest(PhotoHashes(query, COLOR), max_distance=12)
    colour_blind = index.nearest(
        PhotoHashes(query, COLOR), max_distance=12, max_color_distance=None
    )

    assert match is not None and match.sku == "KR-RED"
    assert colour_blind is not None and colour_blind.sku == "KR-NAVY"


def test_photo_without_a_colour_hash_matches_on_shape(rng: random.Random) -> None:
    query = rng.getrandbits(64)
    index = PhotoIndex.build([IndexEntry(1, "KR-OLD", flip(query, 2, rng), None)])

    match = index.nearest(PhotoHashes(query, OTHER_COLOR), max_distance=12)

    assert match is not None and match.sku == "KR-OLD"


def test_incremental_updates(rng: random.Random) -> None:
    query = rng.getrandbits(64)
    index = PhotoIndex()
    for photo_id in range(500):  # grows past the initial capacity
        index.add(IndexEntry(photo_id, f"KR-{photo_id}", rng.getrandbits(64), COLOR))
    index.add(IndexEntry(1000, "KR-NEW", flip(query, 2, rng), COLOR))
    hashes = PhotoHashes(query, COLOR)

    found = index.nearest(hashes, max_distance=12)
    index.add(IndexEntry(1000, "KR-NEW", rng.getrandbits(64), COLOR))  # photo replaced
    after_replace = index.nearest(hashes, max_distance=12)
    index.add(IndexEntry(1001, "KR-NEW", flip(query, 2, rng), COLOR))
    removed = index.remove_sku("KR-NEW")

    assert found is not None and found.photo_id == 1000
    assert after_replace is None
    assert removed == 2
    assert len(index) == 500
    assert index.nearest(hashes, max_distance=12) is None
    assert index.remove_sku("KR-NEVER") == 0


def test_empty_index_finds_nothing() -> None:
    assert PhotoIndex().nearest(PhotoHashes(0, 0), max_distance=64) is None
    assert PhotoIndex.build([]).nearest(PhotoHashes(0, 0), max_distance=64) is None


def test_high_bit_hashes_survive_the_uint64_arrays() -> None:
    top = (1 << 64) - 1
    index = PhotoIndex.build([IndexEntry(7, "KR-TOP", top, top)])

    match = index.nearest(PhotoHashes(top, top), max_distance=0)

    assert match == Match(sku="KR-TOP", photo_id=7, distance=0, confidence=1.0)
