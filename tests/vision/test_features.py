"""ORB features and their stored form."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.vision import features
from app.vision.prepare import catalog_features
from tests.fixtures_demo import demo_photo

LIMITS = {"max_bytes": 10_000_000, "max_pixels": 40_000_000}


def test_a_catalog_photo_gets_at_most_the_keypoint_budget():
    found = catalog_features(demo_photo("KR-DR-001.png"), **LIMITS)

    assert 200 < len(found) <= features.MAX_KEYPOINTS
    assert found.descriptors.shape == (len(found), features.DESCRIPTOR_BYTES)
    assert max(found.size) <= features.FEATURE_SIDE
    assert (found.points >= 0).all() and (found.points[:, 0] <= found.size[0]).all()


def test_a_flat_picture_has_no_features():
    flat = np.full((300, 200), 128, dtype=np.uint8)

    found = features.extract(flat)

    assert len(found) == 0 and found.size == (200, 300)
    assert len(features.decode(features.encode(found))) == 0


def test_stored_features_come_back_the_same():
    found = catalog_features(demo_photo("KR-SW-001.png"), **LIMITS)

    data = features.encode(found)
    back = features.decode(data)

    assert len(data) == 7 + len(found) * 38  # about 19 KB for 500 keypoints
    assert back.size == found.size
    assert np.array_equal(back.descriptors, found.descriptors)
    assert np.array_equal(back.colours, found.colours)
    assert np.abs(back.points - found.points).max() <= 1 / 32


@given(st.binary(max_size=400))
def test_any_stored_bytes_decode_or_raise_a_value_error(data):
    try:
        found = features.decode(data)
    except ValueError:
        return
    assert found.descriptors.shape[0] == found.points.shape[0]


def test_each_keypoint_keeps_the_colour_around_it():
    red = catalog_features(demo_photo("KR-SH-002.png"), **LIMITS)  # a red checked shirt
    grey = catalog_features(demo_photo("KR-SW-001.png"), **LIMITS)  # a grey sweatshirt

    # Cr (red-difference) well above grey's 128 on the red shirt, near 128 on the grey one.
    assert np.median(red.colours[:, 1]) > 150
    assert abs(int(np.median(grey.colours[:, 1])) - 128) < 12


def test_features_of_another_version_are_refused():
    data = bytearray(features.encode(catalog_features(demo_photo("KR-TS-001.png"), **LIMITS)))
    data[0] = features.FORMAT_VERSION + 1

    with pytest.raises(ValueError, match="version"):
        features.decode(bytes(data))
