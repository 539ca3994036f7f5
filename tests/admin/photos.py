"""Photos for panel tests: images no catalog has, drawn from a seed."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw


def new_photo(seed: int, *, size: int = 480, fmt: str = "PNG") -> bytes:
    """A picture of coloured blocks, different for every seed (and from the demo photos)."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(size), rng.randrange(size)
        w, h = rng.randrange(40, size // 2), rng.randrange(40, size // 2)
        draw.rectangle((x, y, x + w, y + h), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()
