"""Local features of a photo: ORB keypoints and binary descriptors, and their compact storage.

ORB was measured against AKAZE on the customer-style variants of the demo photos
(scripts/vision_robustness.py): AKAZE took 67 ms per photo against ORB's 3 ms and recognised
fewer (81 % against 92 %); in OpenCV 5 it is no longer in the main package either. SIFT was
slower again (540 ms per query over the demo photos) and no more accurate.

A catalog photo's features are computed once, at import, and stored with the photo
(`product_photos.features`): 500 keypoints as 16-bit fixed-point coordinates, 32-byte
descriptors and the colour around each keypoint (Cb, Cr), about 19 KB. ORB sees grey levels
only; the colours let verification tell a black quilted jacket from a green quilted sweatshirt.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray
    from PIL import Image

FEATURE_SIDE = 512
"""Longest side, in pixels, of the picture features are computed on (catalog and customer).

Measured: 640 px found no more matches on the demo variants and cost 1.5x the time."""
MAX_KEYPOINTS = 500
"""Keypoints kept per picture (the strongest): bounds the CPU and the storage per photo."""
DESCRIPTOR_BYTES = 32
FORMAT_VERSION = 2
"""Bumped when the extractor or its settings change: stored features of another version are
recomputed by the next import and ignored by the index meanwhile."""

# One thread per OpenCV call: photos run in parallel on the vision threads (and replicas), so an
# inner thread pool would only make them compete; it also bounds the CPU one photo can take.
cv2.setNumThreads(1)

_HEADER = struct.Struct("<BHHH")  # version, count, width, height
# Coordinates are stored in 1/16 px: 16 bits reach 4,096 px, far above FEATURE_SIDE.
_FIXED_POINT = 16.0
_BYTES_PER_KEYPOINT = 4 + DESCRIPTOR_BYTES + 2
_COLOUR_PATCH = 7  # pixels: the side of the square whose mean colour a keypoint gets


@dataclass(frozen=True, slots=True)
class Features:
    """Keypoints of one picture: `points` (n, 2) float32 x, y in pixels; `descriptors` (n, 32)
    uint8 ORB descriptors; `size` the picture's (width, height); `colours` (n, 2) uint8 the mean
    Cb, Cr (YCbCr chroma, 128 is grey) around each keypoint."""

    points: NDArray[np.float32]
    descriptors: NDArray[np.uint8]
    size: tuple[int, int]
    colours: NDArray[np.uint8]

    def __len__(self) -> int:
        return int(self.points.shape[0])

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays."""
        return int(self.points.nbytes + self.descriptors.nbytes + self.colours.nbytes)


def _detector(max_keypoints: int) -> cv2.Feature2D:
    # edgeThreshold below the patch size finds keypoints nearer the borders, where a crop
    # leaves most of what is left of the garment.
    detector: cv2.Feature2D = cv2.ORB.create(
        nfeatures=max_keypoints, edgeThreshold=15, patchSize=31, fastThreshold=10
    )
    return detector


def extract(picture: NDArray[np.uint8], max_keypoints: int = MAX_KEYPOINTS) -> Features:
    """ORB features of a picture, at most `max_keypoints` of them: `picture` is YCbCr (h, w, 3)
    uint8, as `to_ycbcr` gives it, or greyscale (h, w) (then every colour is grey)."""
    grey = np.ascontiguousarray(picture[..., 0] if picture.ndim == 3 else picture)
    keypoints, descriptors = _detector(max_keypoints).detectAndCompute(grey, None)
    height, width = grey.shape[:2]
    if descriptors is None or not keypoints:
        return empty((width, height))
    # Strongest first (ORB may also return a few more than asked): the candidate search indexes
    # the words of the first WORD_KEYPOINTS only.
    keep = np.argsort([-k.response for k in keypoints], kind="stable")[:max_keypoints]
    keypoints = [keypoints[i] for i in keep]
    descriptors = descriptors[keep]
    points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
    return Features(
        points,
        np.ascontiguousarray(descriptors, dtype=np.uint8),
        (width, height),
        _colours_at(picture, points),
    )


def _colours_at(picture: NDArray[np.uint8], points: NDArray[np.float32]) -> NDArray[np.uint8]:
    if picture.ndim != 3:
        return np.full((points.shape[0], 2), 128, dtype=np.uint8)
    # The mean over a patch of about the keypoint's own size, not one (noisy, JPEG) pixel.
    chroma = cv2.blur(np.ascontiguousarray(picture[..., 1:]), (_COLOUR_PATCH, _COLOUR_PATCH))
    x = np.clip(np.round(points[:, 0]).astype(np.intp), 0, picture.shape[1] - 1)
    y = np.clip(np.round(points[:, 1]).astype(np.intp), 0, picture.shape[0] - 1)
    return np.ascontiguousarray(chroma[y, x], dtype=np.uint8)


def to_ycbcr(img: Image.Image) -> NDArray[np.uint8]:
    """An RGB picture as the (h, w, 3) YCbCr array `extract` takes (Y is the grey level)."""
    return np.asarray(img.convert("YCbCr"), dtype=np.uint8)


def empty(size: tuple[int, int]) -> Features:
    """Features of a picture with no keypoints (a flat colour)."""
    return Features(
        np.zeros((0, 2), dtype=np.float32),
        np.zeros((0, DESCRIPTOR_BYTES), dtype=np.uint8),
        size,
        np.zeros((0, 2), dtype=np.uint8),
    )


def encode(features: Features) -> bytes:
    """The compact stored form: a header, fixed-point coordinates, descriptors, colours."""
    width, height = features.size
    header = _HEADER.pack(FORMAT_VERSION, len(features), width, height)
    fixed = np.clip(np.round(features.points * _FIXED_POINT), 0, 65535).astype("<u2")
    return header + fixed.tobytes() + features.descriptors.tobytes() + features.colours.tobytes()


def decode(data: bytes) -> Features:
    """Features from `encode`; raises ValueError for data of another version or length."""
    if len(data) < _HEADER.size:
        raise ValueError("stored features are truncated")
    version, count, width, height = _HEADER.unpack_from(data)
    if version != FORMAT_VERSION:
        raise ValueError(f"stored features are version {version}, expected {FORMAT_VERSION}")
    expected = _HEADER.size + count * _BYTES_PER_KEYPOINT
    if len(data) != expected:
        raise ValueError(f"stored features are {len(data)} bytes, expected {expected}")
    start = _HEADER.size
    fixed = np.frombuffer(data, dtype="<u2", count=count * 2, offset=start)
    points = (fixed.astype(np.float32) / _FIXED_POINT).reshape(-1, 2)
    start += count * 4
    descriptors = np.frombuffer(
        data, dtype=np.uint8, count=count * DESCRIPTOR_BYTES, offset=start
    ).reshape(-1, DESCRIPTOR_BYTES)
    start += count * DESCRIPTOR_BYTES
    colours = np.frombuffer(data, dtype=np.uint8, offset=start).reshape(-1, 2)
    return Features(points, descriptors, (width, height), colours)
