"""Preparation of a customer's photo: the item's region, EXIF orientation, bounded work."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from app.vision import matcher, prepare
from app.vision.features import FEATURE_SIDE
from app.vision.verify import inliers
from tests.vision.conftest import LIMITS, demo_catalog_photos
from tests.vision.customer import demo_image, jpeg


def original(sku: str):
    return next(p.features for p in demo_catalog_photos() if p.sku == sku)


def test_an_item_small_on_a_large_plain_background_is_seen_in_detail():
    """A garment photographed small in the middle of a big, nearly plain surface."""
    surface = Image.new("RGB", (2400, 1800), (196, 190, 180))
    noise = np.random.default_rng(3).normal(0, 2, (1800, 2400, 3))
    surface = Image.fromarray(np.clip(np.asarray(surface) + noise, 0, 255).astype(np.uint8))
    surface.paste(demo_image("KR-TS-002.png"), (1000, 650))

    views = prepare.prepare(jpeg(surface), **LIMITS)

    # At FEATURE_SIDE for the whole picture the garment would be 77 px wide; cut out, it keeps
    # its detail and verifies against the shop photo.
    assert max(views[0].features.size) > 300
    assert inliers(views[0].features, original("KR-TS-002")) >= matcher.CARD_INLIERS


def test_a_photo_that_fills_the_frame_is_one_view_of_the_whole():
    views = prepare.prepare(jpeg(demo_image("KR-KS-001.png")), **LIMITS)

    assert [v.box for v in views] == [(0.0, 0.0, 1.0, 1.0)]


def test_the_exif_orientation_is_applied_before_features():
    upright = demo_image("KR-JK-003.png")
    # What a phone stores: the sensor's pixels, turned, and a tag saying how to show them.
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=90, exif=exif)

    [view] = prepare.prepare(out.getvalue(), **LIMITS)
    [expected] = prepare.prepare(jpeg(upright, 90), **LIMITS)

    assert view.features.size == expected.features.size  # upright, not on its side
    assert np.allclose(view.box, expected.box, atol=0.02)
    assert inliers(view.features, original("KR-JK-003")) >= 3 * matcher.CARD_INLIERS


def test_the_work_per_photo_is_bounded():
    collage = Image.new("RGB", (4000, 3000), "white")
    for i, name in enumerate(["KR-KS-001.png", "KR-DR-001.png", "KR-TS-002.png", "KR-SW-002.png"]):
        collage.paste(demo_image(name), (200 + 950 * i, 300 + 400 * (i % 2)))

    views = prepare.prepare(jpeg(collage), **LIMITS)

    assert 1 <= len(views) <= prepare.MAX_VIEWS
    for view in views:
        assert max(view.features.size) <= FEATURE_SIDE
        assert len(view.features) <= prepare.QUERY_KEYPOINTS
        assert len(view.mirrored) <= prepare.QUERY_KEYPOINTS
