"""Safe intake of a customer's photo: limits first, then decode, orient, trim borders, downscale.

Every byte comes from a stranger, so the checks run cheapest first: the declared size before the
download, the length and the magic bytes before Pillow sees the data, the header's pixel count
before any pixel is decoded. Whatever goes wrong comes out as an `ImageRejectedError`.
"""

from __future__ import annotations

import io
import math
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps

from app.vision.decoding import pixel_budget
from app.vision.errors import (
    CorruptImageError,
    ImageRejectedError,
    ImageTooLargeError,
    TooManyPixelsError,
    UnsupportedFormatError,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import NDArray

# Borders are found on a copy at most this big: a cut lands within 0.2-0.5 % of the side (pHash
# moves ~2 bits per 1 % of shift) and the scan stays at ~1 ms whatever the upload's size.
_TRIM_ANALYSIS_SIDE = 512
# Largest channel difference from the line's background colour that still counts as background.
# Solid bars and studio white differ by 0-5 after JPEG; soft backdrop gradients by more, so they
# count as picture. Measured: at 24, a third of the demo photos had part of their gradient
# backdrop trimmed, at a place that moved with brightness or contrast (pHash off by up to 38).
_TRIM_TOLERANCE = 12
# A line (row or column) is content when more than this share of it differs from its background
# colour; thinner specks (anti-aliasing at a bar's edge) do not count.
_TRIM_BUSY_SHARE = 0.02
# Other content blocks at most this fraction of the tallest one are UI (status bar, captions,
# buttons) and are cut away; anything larger is part of the picture and is kept.
_TRIM_THIN_BLOCK = 0.2
# Never keep less than this share of a side: a trim that small means we misread the image.
_TRIM_MIN_SHARE = 0.1
# Pixels per line whose median is taken as the line's background colour.
_TRIM_SAMPLES = 15

MAX_PHOTOS_PER_REQUEST = 3
"""Photos of one album that are identified; the bot downloads no more than these."""

RESIZE_REDUCING_GAP = 1.25
"""Downscales by 2.5x or more first average whole pixel blocks (cheap), leaving at least 1.25x to
Lanczos: 1.7 ms instead of 3.9 ms for 640→256 px, with the same hashes."""

_MAGIC_NAMES = (
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def check_declared_size(size: int | None, limit: int) -> None:
    """Refuse a file whose declared size (Telegram's `file_size`) is over `limit`, before download.

    An unknown size passes; `decode_image` counts the bytes again after the download.
    """
    if size is not None and size > limit:
        raise ImageTooLargeError(size, limit)


def sniff_format(data: bytes) -> str:
    """The Pillow format name of `data` from its magic bytes: "JPEG", "PNG" or "WEBP".

    Raises `UnsupportedFormatError` for anything else, naming what it looks like when known.
    """
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for magic, name in _MAGIC_NAMES:
        if data.startswith(magic):
            raise UnsupportedFormatError(name)
    if data[4:8] == b"ftyp":
        raise UnsupportedFormatError(f"ISO media ({data[8:12].decode('latin-1')!r}, e.g. HEIC)")
    head = data[:256].lstrip().lower()
    if head.startswith((b"<?xml", b"<svg")):
        raise UnsupportedFormatError("SVG/XML")
    raise UnsupportedFormatError(f"unknown magic bytes {data[:8].hex()}" if data else "empty file")


def decode_image(data: bytes, *, max_bytes: int, max_pixels: int, max_side: int) -> Image.Image:
    """Decode an untrusted JPEG/PNG/WebP into an RGB image ready for hashing and the vision model.

    EXIF orientation is applied, solid borders and app bars around the picture are trimmed
    (see `content_box`) and the result is downscaled once so its longest side is <= `max_side`.
    Raises a subclass of `ImageRejectedError`; no Pillow exception escapes.
    """
    if len(data) > max_bytes:
        raise ImageTooLargeError(len(data), max_bytes)
    fmt = sniff_format(data)
    with _rejecting_corrupt():
        img = _open_checked(data, fmt, max_pixels)
    width, height = img.size
    # Memory: the declared pixels wait for room in the process-wide budget (app/vision/decoding).
    with pixel_budget.hold(width * height):
        with _rejecting_corrupt():
            if fmt == "JPEG" and max(width, height) >= 2 * max_side:
                # DCT scaling decodes at 1/2, 1/4 or 1/8 straight away; it never goes below the
                # requested size, so the final resize below still does the (good) filtering.
                img.draft(None, _fit(width, height, max_side))
            img.load()
            img = _reduced(img, max_side)
            img = _oriented(img)
            img = _to_rgb(img)
        img = img.crop(content_box(img))
        if max(img.size) > max_side:
            img = img.resize(
                _fit(*img.size, max_side),
                Image.Resampling.LANCZOS,
                reducing_gap=RESIZE_REDUCING_GAP,
            )
    return img


@contextmanager
def _rejecting_corrupt() -> Iterator[None]:
    """Any Pillow failure (OSError, SyntaxError, ValueError, struct.error...) as a refusal."""
    try:
        yield
    except ImageRejectedError:
        raise
    except Exception as exc:
        raise CorruptImageError(f"{type(exc).__name__}: {exc}") from exc


def _reduced(img: Image.Image, max_side: int) -> Image.Image:
    """A PNG or WebP far larger than needed, box-averaged down at once (what DCT scaling does
    for a JPEG), so the copies that follow (orientation, colour, trim) are small. The result
    keeps at least twice `max_side` for the final filtering."""
    factor = max(img.size) // (2 * max_side)
    if factor < 2:
        return img
    if img.mode in ("P", "1", "I;16", "I;16B", "I;16L"):
        img = _to_rgb(img)  # reduce() takes no palettes, bilevel or 16-bit images
    return img.reduce(factor)


def _open_checked(data: bytes, fmt: str, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow warns between MAX_IMAGE_PIXELS and twice that and only raises above; the size
        # check below is what we rely on (warning filters are process-global, not per thread).
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data), formats=[fmt])
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise TooManyPixelsError(str(exc)) from exc
    width, height = img.size
    limit = min(max_pixels, Image.MAX_IMAGE_PIXELS or max_pixels)
    if width * height > limit:
        raise TooManyPixelsError(f"{width}x{height} declared, limit {limit} pixels")
    if width < 1 or height < 1:
        raise CorruptImageError(f"image declares {width}x{height} pixels")
    return img


def _oriented(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # a broken EXIF block must not cost the customer the photo
        return img


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode.startswith("I;16") or img.mode == "I":
        deep = np.asarray(img, dtype=np.uint32)
        img = Image.fromarray((deep >> 8).clip(0, 255).astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # Transparent catalog cut-outs are shown on white in the shop's posts: match that.
        rgba = img.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        canvas.alpha_composite(rgba)
        return canvas.convert("RGB")
    return img if img.mode == "RGB" else img.convert("RGB")


def _fit(width: int, height: int, side: int) -> tuple[int, int]:
    """`width`×`height` scaled so the longest side is `side` (never below 1 pixel)."""
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def content_box(img: Image.Image) -> tuple[int, int, int, int]:
    """The box (left, top, right, bottom) of the picture inside solid borders and app chrome.

    A row or column is content when its pixels are not (nearly) one colour. The tallest run of
    content rows is the picture; other runs are cut when they are thin (status bar, caption
    lines, buttons of a screenshot) and kept when large (a second garment below the first). The
    same is done for columns inside that band, and the two passes repeat until stable, so a
    photo on a white background framed by a dark UI ends at the garment either way. When nothing
    sensible is found the whole image is kept.
    """
    width, height = img.size
    factor = max(1, math.ceil(max(width, height) / _TRIM_ANALYSIS_SIDE))
    small = img.reduce(factor) if factor > 1 else img
    pixels = np.asarray(small, dtype=np.int16)
    top, bottom, left, right = 0, pixels.shape[0], 0, pixels.shape[1]
    for _ in range(3):
        rows = _content_span(pixels[top:bottom, left:right])
        if rows is None:
            return (0, 0, width, height)
        new_top, new_bottom = top + rows[0], top + rows[1]
        cols = _content_span(pixels[new_top:new_bottom, left:right].transpose(1, 0, 2))
        if cols is None:
            return (0, 0, width, height)
        new_left, new_right = left + cols[0], left + cols[1]
        if (new_top, new_bottom, new_left, new_right) == (top, bottom, left, right):
            break
        top, bottom, left, right = new_top, new_bottom, new_left, new_right
    box = (
        left * factor,
        top * factor,
        min(width, right * factor),
        min(height, bottom * factor),
    )
    if (box[2] - box[0]) < _TRIM_MIN_SHARE * width or (box[3] - box[1]) < _TRIM_MIN_SHARE * height:
        return (0, 0, width, height)
    return box


def _content_span(lines: NDArray[np.int16]) -> tuple[int, int] | None:
    """[start, end) of the picture along axis 0 of an (n, m, 3) array, or None if all plain."""
    if lines.shape[0] == 0 or lines.shape[1] == 0:
        return None
    # The line's background colour: the median of a few evenly spaced samples, right whenever
    # most of the line is one colour (the only case where it matters) and much cheaper than a
    # full median.
    samples = lines[:, np.linspace(0, lines.shape[1] - 1, _TRIM_SAMPLES).astype(np.intp)]
    background = np.median(samples, axis=1, keepdims=True).astype(np.int16)
    diff = np.abs(lines - background)
    # Channel-wise maximum by hand: numpy's reduction over an axis of 3 is ~8x slower.
    off = np.maximum(np.maximum(diff[..., 0], diff[..., 1]), diff[..., 2]) > _TRIM_TOLERANCE
    busy = off.mean(axis=1) > _TRIM_BUSY_SHARE
    # Runs of busy lines as [start, end) pairs.
    edges = np.flatnonzero(np.diff(np.concatenate(([0], busy.astype(np.int8), [0]))))
    runs = edges.reshape(-1, 2)
    if runs.shape[0] == 0:
        return None
    heights = runs[:, 1] - runs[:, 0]
    main = int(np.argmax(heights))
    others = np.delete(heights, main)
    if others.size and others.max() > _TRIM_THIN_BLOCK * heights[main]:
        return int(runs[0, 0]), int(runs[-1, 1])
    return int(runs[main, 0]), int(runs[main, 1])
