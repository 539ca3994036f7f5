"""Perceptual hashes of a photo: a 64-bit pHash for the shape, a 64-bit colour hash for colours.

pHash works on grey levels, so the same cut in two colours gives the same hash. The colour hash
tells them apart: the mean chroma (Cb and Cr of YCbCr) of each quarter of the picture, each
quantised to 9 levels and written as an 8-bit thermometer code (level k = k leading ones), so
the Hamming distance of two colour hashes is the L1 distance of their quantised colours.

It replaced imagehash's `colorhash` after measurement (scripts/vision_robustness.py): that one
counts pixels below 1/3 saturation as grey, so the muted colours clothes come in (beige, powder,
milky, olive) all look alike, and its 3-bit codes put a complete change of colour only 6-7 bits
away. Of the demo catalog's photos repainted in other colours with the same grey levels, it let
67 % through at <= 6 bits (6 % at <= 4 bits, at a cost of 3 points of correct matches); this
hash lets 6 % through at <= 6 bits and no wrong SKU at a pHash threshold of 14 instead of 12.

Both hashes are stored in the BIGINT columns `product_photos.phash` / `colorhash`, which are
signed: `to_signed64` / `to_unsigned64` convert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import imagehash
import numpy as np
from PIL import Image

from app.vision.intake import RESIZE_REDUCING_GAP, decode_image

if TYPE_CHECKING:
    from numpy.typing import NDArray

# Hashes are computed on a copy at most this big. pHash looks at 32×32 grey levels and the colour
# hash at four mean colours, so more pixels change nothing but the time. Decoding at this size
# (`decode_image(..., max_side=HASH_SIDE)`) lets a JPEG use DCT scaling and gives the same hashes
# within a bit or two.
HASH_SIDE = 256
# Chroma levels (Cb - 128, Cr - 128) between the 9 steps of the colour hash. Steps of 8 resolve
# the muted colours of clothes (a beige or powder garment averages 10-25 from grey over a
# quarter); grey sits in the middle step, away from any cut; stronger colours saturate at ±28.
_CHROMA_CUTS = np.array([-28, -20, -12, -4, 4, 12, 20, 28], dtype=np.float32)

_U64 = 1 << 64
_I64_MAX = (1 << 63) - 1


@dataclass(frozen=True, slots=True)
class PhotoHashes:
    """The hashes of one photo, as unsigned integers."""

    phash: int
    """64-bit DCT perceptual hash of the grey levels."""
    colorhash: int
    """64-bit colour layout hash: mean chroma of the four quarters, thermometer-coded."""


def compute_hashes(img: Image.Image) -> PhotoHashes:
    """Hash an RGB image as `decode_image` returns it (oriented, trimmed)."""
    if max(img.size) > HASH_SIDE:
        scale = HASH_SIDE / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=RESIZE_REDUCING_GAP)
    if img.mode != "RGB":
        img = img.convert("RGB")
    phash = imagehash.phash(img.convert("L"), hash_size=8)
    return PhotoHashes(phash=_bits_to_int(phash.hash), colorhash=color_layout_hash(img))


def color_layout_hash(img: Image.Image) -> int:
    """The 64-bit colour hash of an RGB image (see the module docstring).

    Bits, most significant first: top-left Cb, Cr; top-right Cb, Cr; bottom-left; bottom-right.
    """
    if img.width < 2 or img.height < 2:
        img = img.resize((max(2, img.width), max(2, img.height)))
    chroma = np.asarray(img.convert("YCbCr"), dtype=np.float32)[..., 1:] - 128.0
    mid_y, mid_x = chroma.shape[0] // 2, chroma.shape[1] // 2
    quarters = (
        chroma[:mid_y, :mid_x],
        chroma[:mid_y, mid_x:],
        chroma[mid_y:, :mid_x],
        chroma[mid_y:, mid_x:],
    )
    means = np.array([quarter.reshape(-1, 2).mean(axis=0) for quarter in quarters])
    levels = np.count_nonzero(means[..., None] > _CHROMA_CUTS, axis=-1).ravel()
    value = 0
    for level in levels.tolist():
        value = (value << 8) | ((0xFF << (8 - level)) & 0xFF)
    return value


def hash_photo(data: bytes, *, max_bytes: int, max_pixels: int) -> PhotoHashes:
    """Decode untrusted bytes at `HASH_SIDE` (fast: JPEG DCT scaling) and hash them.

    The one path for both catalog photos and customer photos, so their hashes compare.
    """
    img = decode_image(data, max_bytes=max_bytes, max_pixels=max_pixels, max_side=HASH_SIDE)
    return compute_hashes(img)


def hamming(a: int, b: int) -> int:
    """Number of differing bits of two non-negative hashes."""
    return (a ^ b).bit_count()


def to_signed64(value: int) -> int:
    """An unsigned 64-bit hash as the signed int64 a BIGINT column stores (same bits)."""
    if not 0 <= value < _U64:
        raise ValueError(f"{value} is not an unsigned 64-bit value")
    return value - _U64 if value > _I64_MAX else value


def to_unsigned64(value: int) -> int:
    """A signed int64 read from a BIGINT column back as the unsigned hash."""
    if not -(1 << 63) <= value <= _I64_MAX:
        raise ValueError(f"{value} is not a signed 64-bit value")
    return value + _U64 if value < 0 else value


def _bits_to_int(bits: NDArray[np.bool_]) -> int:
    """Row-major bits, first bit most significant (the order `str(ImageHash)` uses)."""
    flat = bits.ravel()
    # Eight bits per byte, padded at the front so the value is the plain binary number.
    pad = (-flat.size) % 8
    packed = np.packbits(np.concatenate((np.zeros(pad, dtype=bool), flat)))
    return int.from_bytes(packed.tobytes(), "big")
