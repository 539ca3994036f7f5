"""Image factories for the vision tests; every call draws a fresh picture from its seed."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from app.config import VisionSettings
from app.vision.intake import decode_image


def textured(
    width: int, height: int, seed: int, tint: tuple[int, int, int] | None = None
) -> Image.Image:
    """A photo-like picture: smooth random colour fields and a few shapes, no flat lines.

    With `tint`, every pixel is pulled towards that colour (a channel-wise blend).
    """
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (height // 24 + 3, width // 24 + 3, 3), dtype=np.uint8)
    img = Image.fromarray(coarse).resize((width, height), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(min(width, height) // 10, min(width, height) // 4))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    if tint is not None:
        img = Image.blend(img, Image.new("RGB", img.size, tint), 0.6)
    return img


def garment(colour: tuple[int, int, int], size: tuple[int, int] = (360, 480)) -> Image.Image:
    """A flat T-shirt of `colour` with a pocket and a print, on a light grey studio backdrop."""
    width, height = size
    img = Image.new("RGB", size, (236, 236, 232))
    draw = ImageDraw.Draw(img)
    w, h = width / 360, height / 480
    body = [(110, 120), (60, 150), (35, 230), (95, 250), (110, 200), (110, 420), (250, 420)]
    body += [(250, 200), (265, 250), (325, 230), (300, 150), (250, 120), (215, 112), (145, 112)]
    draw.polygon([(x * w, y * h) for x, y in body], fill=colour)
    draw.ellipse((150 * w, 95 * h, 210 * w, 140 * h), fill=(236, 236, 232))
    # A pocket and a print on one side: a perfectly symmetric picture zeroes half of pHash's
    # DCT coefficients, and bits compared with a median of zeros are noise.
    shade = tuple(max(0, c - 40) for c in colour)
    draw.rectangle((130 * w, 300 * h, 175 * w, 350 * h), fill=shade)
    draw.ellipse((200 * w, 170 * h, 240 * w, 210 * h), fill=(250, 250, 250))
    return img


def screenshot(photo: Image.Image) -> Image.Image:
    """`photo` as a customer's phone screenshot of a post: a black status bar with icons, an
    author line, caption lines and a navigation bar with icons around it, on white."""
    width = photo.width + 60
    shot = Image.new("RGB", (width, photo.height + 240), "white")
    draw = ImageDraw.Draw(shot)
    draw.rectangle((0, 0, width, 24), fill="black")
    draw.rectangle((12, 8, 40, 16), fill="white")
    draw.rectangle((width - 40, 8, width - 12, 16), fill="white")
    draw.rectangle((12, 40, 140, 52), fill=(30, 30, 30))
    shot.paste(photo, (30, 80))
    for y in range(photo.height + 100, photo.height + 161, 20):
        draw.rectangle((12, y, width - 60, y + 10), fill=(30, 30, 30))
    bar = photo.height + 200
    draw.rectangle((0, bar, width, bar + 40), fill=(245, 245, 245))
    for x in range(30, width - 20, 70):
        draw.ellipse((x, bar + 10, x + 20, bar + 30), outline="black", width=2)
    return shot


def encode(img: Image.Image, fmt: str = "JPEG", **params: Any) -> bytes:
    """`img` saved in `fmt` with Pillow's `save` parameters."""
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def decode(data: bytes, **overrides: int) -> Image.Image:
    """`decode_image` with the default settings, some of them overridden."""
    settings = VisionSettings()
    limits = {
        "max_bytes": settings.max_bytes,
        "max_pixels": settings.max_pixels,
        "max_side": settings.max_side,
    }
    limits.update(overrides)
    return decode_image(data, **limits)


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header claims `width`×`height` grey pixels, followed by a few bytes of data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )
