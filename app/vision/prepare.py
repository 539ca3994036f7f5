"""Preparation of a customer's photo for local features: decode, find the item, bound the work.

Intake (`decode_image`) already applies EXIF orientation and trims solid bars. What is left may
still be mostly app chrome or background: a screenshot of the shop's feed, a chat with the photo
in a bubble, a garment lying small in the middle of a bed. Local features of the whole picture at
FEATURE_SIDE would then spend most keypoints and pixels on text and sheets, so the picture is cut
into its largest busy regions (edges dense enough to be an object, merged across small gaps) and
each of the few largest is a view of its own, decoded again at a higher resolution when it is
small. The CPU per photo is bounded: at most MAX_VIEWS views, two decodes, MAX_KEYPOINTS each.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from app.vision.features import FEATURE_SIDE, MAX_KEYPOINTS, Features, extract, to_ycbcr
from app.vision.intake import decode_image

if TYPE_CHECKING:
    from numpy.typing import NDArray

MAX_VIEWS = 2
"""Regions of one photo that are searched at most (the largest first)."""
QUERY_KEYPOINTS = MAX_KEYPOINTS
"""Keypoints per view of a customer's photo (and as many again for its mirror image)."""
MAX_DECODE_SIDE = 1280
"""Longest side a photo is decoded at when its item is a small part of it."""
SMALL_ITEM = 0.75
"""An item whose longest side is below this share of FEATURE_SIDE is decoded again, larger."""
_ANALYSIS_SIDE = 160  # regions are found on a copy this big: ~1 ms
_EDGE = 10.0  # gradient (grey levels per pixel at the analysis size) that counts as an edge
_MERGE = 0.04  # edges closer than this share of the side join one region
_MIN_REGION = 0.03  # regions smaller than this share of the picture are ignored
_WHOLE = 0.6  # a region covering this share of the picture is the picture itself
_MARGIN = 0.04  # added around a region, as a share of its sides


@dataclass(frozen=True)
class View:
    """One region of the customer's photo and its features, and their mirror image."""

    box: tuple[float, float, float, float]
    """(left, top, right, bottom) as shares of the decoded picture."""
    features: Features
    mirrored: Features


def decode_ycbcr(data: bytes, *, max_bytes: int, max_pixels: int, side: int) -> NDArray[np.uint8]:
    """The photo decoded safely (limits, EXIF, trimmed bars) as YCbCr (h, w, 3), longest side
    <= side; channel 0 is the grey level."""
    img = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels, max_side=side)
    return to_ycbcr(img)


def regions(
    picture: NDArray[np.uint8], limit: int = MAX_VIEWS
) -> list[tuple[float, float, float, float]]:
    """The largest busy regions of a picture as boxes in shares of its sides, largest first;
    the whole picture when one region covers most of it or nothing stands out. `picture` is
    YCbCr or greyscale; only the grey levels are looked at."""
    grey = np.ascontiguousarray(picture[..., 0] if picture.ndim == 3 else picture)
    height, width = grey.shape
    scale = _ANALYSIS_SIDE / max(height, width)
    small = np.asarray(
        cv2.resize(
            grey,
            (max(1, round(width * scale)), max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA,
        ),
        dtype=np.float32,
    )
    small = np.asarray(cv2.GaussianBlur(small, (3, 3), 0), dtype=np.float32)
    gx = np.asarray(cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3), dtype=np.float32) / 8
    gy = np.asarray(cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3), dtype=np.float32) / 8
    edges = (np.hypot(gx, gy) > _EDGE).astype(np.uint8)
    reach = max(1, round(_MERGE * _ANALYSIS_SIDE))
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    busy = np.asarray(cv2.dilate(edges, kernel), dtype=np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(busy, connectivity=8)
    area = busy.shape[0] * busy.shape[1]
    boxes = []
    for label in range(1, count):
        x, y, w, h, _pixels = (int(v) for v in stats[label])
        if w * h >= _MIN_REGION * area:
            boxes.append((w * h, x, y, w, h))
    boxes.sort(reverse=True)
    whole = (0.0, 0.0, 1.0, 1.0)
    if not boxes or boxes[0][0] >= _WHOLE * area:
        return [whole]
    found = []
    sw, sh = busy.shape[1], busy.shape[0]
    for _, x, y, w, h in boxes[:limit]:
        mx, my = _MARGIN * w, _MARGIN * h
        found.append(
            (
                max(0.0, (x - mx) / sw),
                max(0.0, (y - my) / sh),
                min(1.0, (x + w + mx) / sw),
                min(1.0, (y + h + my) / sh),
            )
        )
    return found


def prepare(data: bytes, *, max_bytes: int, max_pixels: int) -> list[View]:
    """The views of a customer's photo that the candidate search and verification look at.

    Raises `app.vision.errors.ImageRejectedError` like `decode_image`.
    """
    picture = decode_ycbcr(data, max_bytes=max_bytes, max_pixels=max_pixels, side=FEATURE_SIDE)
    boxes = regions(picture)
    height, width = picture.shape[:2]
    largest = max(
        max((right - left) * width, (bottom - top) * height) for left, top, right, bottom in boxes
    )
    source = picture
    if largest < SMALL_ITEM * FEATURE_SIDE:
        # The item is small in the picture, or the picture is small after the trim of bars and
        # borders (a JPEG is decoded at a fraction of its size before it is trimmed): decode
        # once more, bigger, so the item keeps the detail the photo has.
        larger = decode_ycbcr(
            data, max_bytes=max_bytes, max_pixels=max_pixels, side=MAX_DECODE_SIDE
        )
        if max(larger.shape[:2]) > max(height, width):
            source = larger
    return [_view(source, box) for box in boxes]


def _view(picture: NDArray[np.uint8], box: tuple[float, float, float, float]) -> View:
    height, width = picture.shape[:2]
    left, top, right, bottom = box
    crop = picture[
        round(top * height) : round(bottom * height), round(left * width) : round(right * width)
    ]
    if crop.size == 0:
        crop = picture
    side = max(crop.shape[:2])
    if side > FEATURE_SIDE:
        scale = FEATURE_SIDE / side
        crop = cv2.resize(  # type: ignore[assignment]
            crop,
            (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
            interpolation=cv2.INTER_AREA,
        )
    crop = np.ascontiguousarray(crop)
    mirrored = np.ascontiguousarray(crop[:, ::-1])
    return View(box, extract(crop, QUERY_KEYPOINTS), extract(mirrored, QUERY_KEYPOINTS))


def catalog_features(data: bytes, *, max_bytes: int, max_pixels: int) -> Features:
    """Features of a catalog photo: the whole picture at FEATURE_SIDE, as the shop shows it."""
    return extract(
        decode_ycbcr(data, max_bytes=max_bytes, max_pixels=max_pixels, side=FEATURE_SIDE)
    )
