"""The second stage in memory: candidate search, geometric verification, the acceptance rule."""

from __future__ import annotations

import pytest

from app.vision import matcher
from app.vision.matcher import Best, FeatureVerdict, decide, settle, verify_candidates
from app.vision.prepare import prepare
from app.vision.verify import inliers
from tests.vision.conftest import LIMITS, demo_catalog_photos, feature_index
from tests.vision.customer import (
    chat_screenshot,
    cropped,
    customer_photo,
    demo_image,
    jpeg,
    mirrored,
    upscaled,
)


def second_stage(index: matcher.FeatureIndex, data: bytes) -> FeatureVerdict:
    views = prepare(data, **LIMITS)
    photos = {p.photo_id: p.features for p in demo_catalog_photos() if p.features is not None}
    return verify_candidates(views, index.candidates(views), photos, index.sku_of)


def photo_features(name: str):
    return next(p.features for p in demo_catalog_photos() if p.sku == name)


@pytest.mark.parametrize("share", [0.08, 0.14, 0.2])
def test_a_crop_of_a_shop_photo_is_verified_as_its_product(demo_features, share):
    verdict = second_stage(
        demo_features, jpeg(upscaled(cropped(demo_image("KR-SW-001.png"), share)))
    )

    assert verdict.sku == "KR-SW-001"
    assert verdict.confidence >= matcher.CARD_CONFIDENCE
    assert verdict.inliers >= matcher.CARD_INLIERS and not verdict.mirrored


def test_a_mirror_image_is_matched_through_the_mirrored_view(demo_features):
    verdict = second_stage(demo_features, customer_photo("KR-DR-004.png"))

    assert (verdict.sku, verdict.mirrored) == ("KR-DR-004", True)
    assert verdict.confidence >= matcher.CARD_CONFIDENCE


def test_a_mirror_image_does_not_verify_unmirrored():
    """The pink checked dress: its words match both ways, only the mirrored view verifies."""
    [view] = prepare(jpeg(mirrored(demo_image("KR-DR-004.png"))), **LIMITS)
    original = photo_features("KR-DR-004")

    assert inliers(view.mirrored, original) >= 3 * matcher.CARD_INLIERS
    assert inliers(view.features, original) < matcher.ASK_INLIERS


def test_the_photo_in_a_chat_screenshot_is_found(demo_features):
    verdict = second_stage(demo_features, chat_screenshot(demo_image("KR-JK-003.png")))

    assert verdict.sku == "KR-JK-003" and verdict.confidence >= matcher.CARD_CONFIDENCE


def test_a_picture_of_something_else_verifies_nothing(demo_features):
    from PIL import Image

    noise = Image.effect_noise((600, 800), 60).convert("RGB")

    verdict = second_stage(demo_features, jpeg(noise))

    assert verdict.sku is None and verdict.confidence == 0


def test_a_look_alike_not_in_the_catalog_gets_no_card():
    """A red zip hoodie drawn like the shop's blue one ("Альпи"): same cut, other product."""
    from scripts.generate_demo_photos import Product, render

    stranger = Product(
        sku="XX-1",
        name="Куртка з капюшоном на блискавці",
        category="куртки",
        colours=("червоний",),
        tags=(),
        text="куртка з капюшоном на блискавці",
        photos=("a.png",),
    )
    data = jpeg(upscaled(render(stranger, 0, 7)))

    verdict = second_stage(feature_index(), data)

    assert verdict.confidence < matcher.CARD_CONFIDENCE


def test_of_two_look_alikes_in_the_catalog_the_customer_is_asked():
    """The two beige belted coats: with neither clearly ahead, both are offered."""
    per_sku = {
        "KR-CT-001": Best(40, 5, False),
        "KR-CT-002": Best(31, 9, False),
        "KR-TS-001": Best(4, 1, False),
    }

    verdict = decide(per_sku)

    assert verdict.sku == "KR-CT-001"
    assert matcher.ASK_CONFIDENCE <= verdict.confidence < matcher.CARD_CONFIDENCE
    assert verdict.candidates == ["KR-CT-002"]


@pytest.mark.parametrize(
    ("best", "second", "band"),
    [
        (matcher.CARD_INLIERS, 0, "card"),
        (2 * matcher.CARD_INLIERS, matcher.CARD_INLIERS, "card"),
        (2 * matcher.CARD_INLIERS, matcher.CARD_INLIERS + 1, "ask"),
        (matcher.CARD_INLIERS - 1, 0, "ask"),
        (matcher.ASK_INLIERS, 0, "ask"),
        (matcher.ASK_INLIERS - 1, 0, "none"),
    ],
)
def test_the_acceptance_rule_needs_inliers_and_a_margin(best, second, band):
    per_sku = {"KR-A": Best(best, 1, False)}
    if second:
        per_sku["KR-B"] = Best(second, 2, False)

    verdict = decide(per_sku)

    if band == "card":
        assert verdict.sku == "KR-A" and verdict.confidence >= matcher.CARD_CONFIDENCE
    elif band == "ask":
        assert verdict.sku == "KR-A"
        assert matcher.ASK_CONFIDENCE <= verdict.confidence < matcher.CARD_CONFIDENCE
    else:
        assert verdict.sku is None


def test_a_match_in_other_colours_is_asked_about_not_carded():
    """Many inliers, but the matched keypoints differ in colour (a green quilted sweatshirt on
    the black quilted jacket): the same cut or fabric in another colour is not the product."""
    verdict = decide({"KR-JK-003": Best(60, 1, False, matcher.COLOUR_LIMIT + 4)})

    assert verdict.sku == "KR-JK-003"
    assert matcher.ASK_CONFIDENCE <= verdict.confidence < matcher.CARD_CONFIDENCE


def test_a_weak_hash_match_and_a_weak_verification_that_disagree_ask_with_both():
    weak = FeatureVerdict("KR-B", 0.6, 12, [], 3, False)

    settled = settle("KR-A", 0.7, weak)

    assert (settled.sku, settled.candidates) == ("KR-A", ["KR-B"])


def test_a_verified_card_wins_over_a_weak_hash_match():
    card = FeatureVerdict("KR-B", 0.9, 60, [], 3, False)

    settled = settle("KR-A", 0.6, card)

    assert (settled.sku, settled.source) == ("KR-B", "features")
