from __future__ import annotations

import pytest
from PIL import Image

from app.config import VisionSettings
from app.vision.hashing import (
    HASH_SIDE,
    PhotoHashes,
    color_layout_hash,
    compute_hashes,
    hamming,
    hash_photo,
    to_signed64,
    to_unsigned64,
)
from app.vision.index import DEFAULT_MAX_COLOR_DISTANCE
from tests.vision import decode, encode, garment, screenshot, textured

THERMOMETER = {(0xFF << (8 - level)) & 0xFF for level in range(9)}


def hashes_of(data: bytes) -> PhotoHashes:
    settings = VisionSettings()
    return hash_photo(data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)


@pytest.fixture(name="original")
def fx_original() -> Image.Image:
    return textured(800, 600, seed=11)


@pytest.mark.parametrize("value", [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1, 0xDEADBEEF12345678])
def test_signed_storage_round_trips_every_unsigned_hash(value: int) -> None:
    stored = to_signed64(value)

    assert -(1 << 63) <= stored < 1 << 63
    assert to_unsigned64(stored) == value


@pytest.mark.parametrize("value", [-1, 1 << 64])
def test_values_outside_64_bits_are_refused(value: int) -> None:
    with pytest.raises(ValueError, match="64-bit"):
        to_signed64(value)


def test_hamming_counts_differing_bits() -> None:
    assert hamming(0b1011, 0b0001) == 2
    assert hamming((1 << 64) - 1, 0) == 64


def test_hashes_have_their_stated_widths(original: Image.Image) -> None:
    hashes = compute_hashes(original)

    assert 0 <= hashes.phash < 1 << 64
    assert 0 <= hashes.colorhash < 1 << 64
    # pHash marks the coefficients above their median: exactly half of the bits.
    assert hashes.phash.bit_count() == 32
    # The colour hash is eight thermometer codes: each byte is ones, then zeros.
    assert all(byte in THERMOMETER for byte in hashes.colorhash.to_bytes(8, "big"))


def test_muted_colours_are_told_apart() -> None:
    def colour(rgb: tuple[int, int, int]) -> int:
        return color_layout_hash(Image.new("RGB", (64, 64), rgb))

    grey, beige, powder, navy = (
        colour((128, 128, 128)),
        colour((210, 190, 150)),
        colour((225, 180, 185)),
        colour((30, 50, 150)),
    )

    assert grey == 0xF0F0_F0F0_F0F0_F0F0  # both chroma channels in the middle step
    assert DEFAULT_MAX_COLOR_DISTANCE is not None
    assert hamming(grey, beige) > DEFAULT_MAX_COLOR_DISTANCE
    assert DEFAULT_MAX_COLOR_DISTANCE < hamming(beige, powder) < hamming(beige, navy)


def test_reencoded_and_resized_copy_is_a_near_duplicate(original: Image.Image) -> None:
    copy = original.resize((720, 540), Image.Resampling.BILINEAR)

    source = hashes_of(encode(original, quality=95))
    customer = hashes_of(encode(copy, quality=40))

    assert hamming(source.phash, customer.phash) <= 4
    assert hamming(source.colorhash, customer.colorhash) <= 2


def test_different_picture_is_far(original: Image.Image) -> None:
    other = textured(800, 600, seed=12)

    distance = hamming(hashes_of(encode(original)).phash, hashes_of(encode(other)).phash)

    assert distance >= 20


def test_same_cut_in_another_colour_differs_only_in_the_colour_hash() -> None:
    red = hashes_of(encode(garment((190, 30, 40)), "PNG"))
    navy = hashes_of(encode(garment((30, 50, 150)), "PNG"))

    # Both are a dark-ish silhouette on a light backdrop: pHash cannot tell them apart...
    assert hamming(red.phash, navy.phash) <= 6
    # ...the colour hash can, by more than the index's colour threshold.
    assert DEFAULT_MAX_COLOR_DISTANCE is not None
    assert hamming(red.colorhash, navy.colorhash) > DEFAULT_MAX_COLOR_DISTANCE


def test_hashing_at_hash_side_matches_hashing_the_full_intake_image(original: Image.Image) -> None:
    data = encode(original.resize((1280, 960)), quality=85)

    fast = hashes_of(data)
    full = compute_hashes(decode(data, max_side=1024))

    assert max(decode(data, max_side=HASH_SIDE).size) == HASH_SIDE
    assert hamming(fast.phash, full.phash) <= 2
    assert hamming(fast.colorhash, full.colorhash) <= 2


def test_studio_photo_hashes_alike_bare_and_in_a_screenshot() -> None:
    # The plain backdrop and the white app around it are both trimmed away: what is left is
    # the garment either way.
    photo = garment((40, 110, 70))

    bare = hashes_of(encode(photo, "PNG"))
    shot = hashes_of(encode(screenshot(photo), quality=85))

    assert hamming(bare.phash, shot.phash) <= 4
    assert hamming(bare.colorhash, shot.colorhash) <= 2
