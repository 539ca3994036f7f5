"""Customer-style variants of a catalog photo, for the vision robustness table.

Each transform takes the catalog picture and a seeded `random.Random` and returns the bytes a
customer would send: what Telegram delivers is a JPEG (photos are re-encoded at about quality 85
with the longest side at most 1280 px), so every variant ends as such a JPEG unless the transform
is itself about JPEG quality.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

TELEGRAM_SIDE = 1280
TELEGRAM_QUALITY = 85

Transform = Callable[[Image.Image, random.Random], bytes]


@dataclass(frozen=True)
class Variant:
    """One named transform."""

    name: str
    make: Transform


def to_telegram_jpeg(img: Image.Image, quality: int = TELEGRAM_QUALITY) -> bytes:
    """`img` as Telegram would deliver it: longest side <= 1280 px, JPEG."""
    img = img.convert("RGB")
    if max(img.size) > TELEGRAM_SIDE:
        scale = TELEGRAM_SIDE / max(img.size)
        img = img.resize(
            (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
        )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=quality)
    return out.getvalue()


def _resize(factor: float) -> Transform:
    def make(img: Image.Image, rng: random.Random) -> bytes:
        size = (round(img.width * factor), round(img.height * factor))
        return to_telegram_jpeg(img.resize(size, Image.Resampling.BICUBIC))

    return make


def _jpeg(quality: int) -> Transform:
    def make(img: Image.Image, rng: random.Random) -> bytes:
        return to_telegram_jpeg(img, quality)

    return make


def _crop(share: float) -> Transform:
    """Cut `share` of the width and of the height, split at random between the two sides."""

    def make(img: Image.Image, rng: random.Random) -> bytes:
        cut_x, cut_y = img.width * share, img.height * share
        left, top = cut_x * rng.random(), cut_y * rng.random()
        box = (
            round(left),
            round(top),
            round(img.width - (cut_x - left)),
            round(img.height - (cut_y - top)),
        )
        return to_telegram_jpeg(img.crop(box))

    return make


def _rotate(degrees: float) -> Transform:
    def make(img: Image.Image, rng: random.Random) -> bytes:
        angle = degrees if rng.random() < 0.5 else -degrees
        turned = img.rotate(
            angle, Image.Resampling.BICUBIC, expand=False, fillcolor=(255, 255, 255)
        )
        return to_telegram_jpeg(turned)

    return make


def _enhance(kind: type[ImageEnhance._Enhance], factor: float) -> Transform:
    def make(img: Image.Image, rng: random.Random) -> bytes:
        return to_telegram_jpeg(kind(img).enhance(factor))  # type: ignore[call-arg]

    return make


def _colour_cast(red: float, blue: float) -> Transform:
    """A white-balance shift or a warm/cool filter: red and blue channels scaled."""

    def make(img: Image.Image, rng: random.Random) -> bytes:
        r, g, b = img.convert("RGB").split()
        r = r.point(lambda v: min(255, round(v * red)))
        b = b.point(lambda v: min(255, round(v * blue)))
        return to_telegram_jpeg(Image.merge("RGB", (r, g, b)))

    return make


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: the same glyphs on every machine, so the variants are reproducible.
    return ImageFont.load_default(size=size)


def _status_bar(
    draw: ImageDraw.ImageDraw, width: int, height: int, ink: str, rng: random.Random
) -> None:
    """Phone status bar: the time on the left; signal, Wi-Fi and battery on the right."""
    draw.text(
        (48, height // 2),
        f"{rng.randint(8, 22)}:{rng.randint(0, 59):02d}",
        fill=ink,
        font=_font(34),
        anchor="lm",
    )
    x = width - 48
    # battery: outline, charge level, tip
    draw.rounded_rectangle(
        (x - 62, height // 2 - 16, x - 8, height // 2 + 16), 6, outline=ink, width=3
    )
    level = rng.uniform(0.2, 1.0)
    draw.rectangle(
        (x - 57, height // 2 - 11, x - 57 + round(44 * level), height // 2 + 11), fill=ink
    )
    draw.rectangle((x - 6, height // 2 - 7, x, height // 2 + 7), fill=ink)
    x -= 90
    for i in range(4):  # signal bars
        draw.rectangle(
            (x + i * 10, height // 2 + 14 - 8 * (i + 1), x + i * 10 + 6, height // 2 + 14), fill=ink
        )
    draw.pieslice((x - 60, height // 2 - 14, x - 16, height // 2 + 30), 225, 315, fill=ink)  # wi-fi


def _icon_row(draw: ImageDraw.ImageDraw, y: int, xs: list[int], ink: str, size: int = 30) -> None:
    """Outline icons (heart/comment/share/home...) as simple shapes."""
    for i, x in enumerate(xs):
        if i % 3 == 0:
            draw.ellipse((x - size, y - size, x + size, y + size), outline=ink, width=4)
        elif i % 3 == 1:
            draw.rounded_rectangle(
                (x - size, y - size, x + size, y + size), 10, outline=ink, width=4
            )
        else:
            draw.polygon(
                [(x - size, y + size), (x, y - size), (x + size, y + size)], outline=ink, width=4
            )


def screenshot_instagram(img: Image.Image, rng: random.Random) -> bytes:
    """A light-mode Instagram post screenshot: status bar, app header, author row, the photo at
    full width, action icons, likes and caption text, bottom navigation bar."""
    width = 1080
    photo_h = round(img.height * width / img.width)
    status, header, author = 80, 140, 130
    actions, likes, caption, nav = 120, 60, 150, 150
    height = status + header + author + photo_h + actions + likes + caption + nav
    shot = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(shot)
    ink, grey = "#111111", "#8e8e8e"
    _status_bar(draw, width, status, ink, rng)
    y = status
    draw.text((40, y + header // 2), "Instagram", fill=ink, font=_font(64), anchor="lm")
    _icon_row(draw, y + header // 2, [width - 190, width - 80], ink)
    y += header
    draw.ellipse((40, y + 25, 120, y + 105), fill="#c13584")
    draw.text((140, y + author // 2), "kramar.shop", fill=ink, font=_font(36), anchor="lm")
    draw.text((width - 60, y + author // 2), "...", fill=ink, font=_font(40), anchor="mm")
    y += author
    shot.paste(img.resize((width, photo_h), Image.Resampling.LANCZOS), (0, y))
    y += photo_h
    _icon_row(draw, y + actions // 2, [70, 170, 270, width - 70], ink)
    y += actions
    draw.text(
        (40, y + 10),
        f"Liked by olena_k and {rng.randint(100, 9999)} others",
        fill=ink,
        font=_font(34),
    )
    y += likes
    for line in (
        "kramar.shop New collection is here! Soft, warm and",
        "ready for autumn walks. Sizes S-XL. DM us to order",
    ):
        draw.text((40, y + 10), line, fill=ink, font=_font(32))
        y += 48
    draw.text((40, y + 4), "View all 37 comments", fill=grey, font=_font(30))
    y = height - nav
    draw.line((0, y, width, y), fill="#dbdbdb", width=2)
    _icon_row(draw, y + nav // 2, [108 + 216 * i for i in range(5)], ink, size=28)
    return to_telegram_jpeg(shot)


def screenshot_dark_chat(img: Image.Image, rng: random.Random) -> bytes:
    """A dark-mode messenger screenshot: the photo in a bubble with margins on a dark chat
    background, a chat header above and the message input bar below."""
    width, height = 1080, 2340
    shot = Image.new("RGB", (width, height), "#0e1621")
    draw = ImageDraw.Draw(shot)
    ink = "#f5f5f5"
    _status_bar(draw, width, 80, ink, rng)
    draw.rectangle((0, 80, width, 240), fill="#17212b")
    draw.ellipse((110, 110, 210, 210), fill="#5288c1")
    draw.text((240, 135), "Kramar Shop", fill=ink, font=_font(40))
    draw.text((240, 185), "online", fill="#6c7883", font=_font(30))
    photo_w = 820
    photo_h = round(img.height * photo_w / img.width)
    x, y = width - photo_w - 40, 420
    draw.rounded_rectangle((40, 300, 600, 380), 24, fill="#182533")
    draw.text((70, 340), "Do you have this one in M?", fill=ink, font=_font(34), anchor="lm")
    draw.rounded_rectangle((x - 8, y - 8, x + photo_w + 8, y + photo_h + 70), 28, fill="#2b5278")
    shot.paste(img.resize((photo_w, photo_h), Image.Resampling.LANCZOS), (x, y))
    draw.text(
        (x + photo_w - 20, y + photo_h + 35),
        f"{rng.randint(8, 22)}:{rng.randint(10, 59)}",
        fill="#7da8d3",
        font=_font(28),
        anchor="rm",
    )
    draw.rectangle((0, height - 150, width, height), fill="#17212b")
    draw.text((140, height - 75), "Message", fill="#6c7883", font=_font(40), anchor="lm")
    _icon_row(draw, height - 75, [70, width - 170, width - 70], "#6c7883", size=26)
    return to_telegram_jpeg(shot)


def _perspective_coeffs(
    src: list[tuple[float, float]], dst: list[tuple[float, float]]
) -> list[float]:
    """Coefficients for `Image.transform(PERSPECTIVE)`: maps each `dst` corner to its `src`."""
    rows = []
    for (x, y), (u, v) in zip(dst, src, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    rhs = np.array([c for point in src for c in point], dtype=float)
    return [float(c) for c in np.linalg.solve(np.array(rows, dtype=float), rhs)]


def photo_of_screen(img: Image.Image, rng: random.Random) -> bytes:
    """A phone photo of a monitor showing the picture: perspective, moiré, blur, noise."""
    out_w, out_h = 1280, 960
    # the picture fills most of the frame, with the dark monitor around it
    scale = 0.8 * min(out_w / img.width, out_h / img.height)
    pw, ph = img.width * scale, img.height * scale
    cx, cy = out_w / 2 + rng.uniform(-40, 40), out_h / 2 + rng.uniform(-30, 30)
    corners = [
        (cx - pw / 2, cy - ph / 2),
        (cx + pw / 2, cy - ph / 2),
        (cx + pw / 2, cy + ph / 2),
        (cx - pw / 2, cy + ph / 2),
    ]
    jitter = 0.06 * min(pw, ph)
    dst = [(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in corners]
    src = [
        (0.0, 0.0),
        (float(img.width), 0.0),
        (float(img.width), float(img.height)),
        (0.0, float(img.height)),
    ]
    screen = img.convert("RGB").transform(
        (out_w, out_h),
        Image.Transform.PERSPECTIVE,
        _perspective_coeffs(src, dst),
        Image.Resampling.BICUBIC,
        fillcolor=(18, 18, 22),
    )
    pixels = np.asarray(screen, dtype=np.float32)
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    freq = rng.uniform(0.18, 0.3)  # cycles per pixel: near the sensor pitch, hence the beating
    wave = np.sin(2 * math.pi * freq * (xx * math.cos(angle) + yy * math.sin(angle)))
    beat = np.sin(2 * math.pi * 0.012 * (xx * math.sin(angle) - yy * math.cos(angle)))
    pixels *= (1 + 0.12 * wave * beat)[..., None]
    pixels *= rng.uniform(0.85, 1.05)  # exposure
    noisy = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).filter(
        ImageFilter.GaussianBlur(1.2)
    )
    grain = np.random.default_rng(rng.getrandbits(32)).normal(0, 6, (out_h, out_w, 3))
    final = np.clip(np.asarray(noisy, dtype=np.float32) + grain, 0, 255).astype(np.uint8)
    return to_telegram_jpeg(Image.fromarray(final))


def in_other_colour(img: Image.Image, min_chroma: float = 12.0) -> Image.Image | None:
    """The same picture in other colours with the same grey levels: the chroma of every pixel
    turned by 180° in YCbCr (red ↔ cyan, blue ↔ yellow). pHash sees no difference, so this is
    the look-alike a colour hash exists for. None for a nearly grey picture (mean chroma below
    `min_chroma`), which has no other colour to show."""
    ycc = np.asarray(img.convert("YCbCr"), dtype=np.int16)
    chroma = ycc[..., 1:] - 128
    if float(np.abs(chroma).sum(axis=2).mean()) < min_chroma:
        return None
    turned = ycc.copy()
    turned[..., 1:] = np.clip(128 - chroma, 0, 255)
    return Image.fromarray(turned.astype(np.uint8), "YCbCr").convert("RGB")


VARIANTS: tuple[Variant, ...] = (
    Variant("resize 50%", _resize(0.5)),
    Variant("resize 200%", _resize(2.0)),
    Variant("jpeg q30", _jpeg(30)),
    Variant("jpeg q45", _jpeg(45)),
    Variant("jpeg q60", _jpeg(60)),
    Variant("crop 5%", _crop(0.05)),
    Variant("crop 10%", _crop(0.10)),
    Variant("crop 15%", _crop(0.15)),
    Variant("rotate 2°", _rotate(2.0)),
    Variant("rotate 5°", _rotate(5.0)),
    Variant("brightness -25%", _enhance(ImageEnhance.Brightness, 0.75)),
    Variant("brightness +25%", _enhance(ImageEnhance.Brightness, 1.25)),
    Variant("contrast -30%", _enhance(ImageEnhance.Contrast, 0.7)),
    Variant("contrast +30%", _enhance(ImageEnhance.Contrast, 1.3)),
    Variant("warm filter", _colour_cast(1.08, 0.9)),
    Variant("screenshot instagram", screenshot_instagram),
    Variant("screenshot dark chat", screenshot_dark_chat),
    Variant("photo of screen", photo_of_screen),
)
"""Every transform of the robustness table, in the order it prints them."""
