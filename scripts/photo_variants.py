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
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont

if TYPE_CHECKING:
    from numpy.typing import NDArray

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


# Customer-style photos (issue 17) ------------------------------------------------------------
#
# What customers send instead of the catalog photo: crops, mirror selfies, the item lying on a bed
# or a floor in other light, screenshots of the shop's feed with captions and stickers, a phone
# photo of a laptop screen, part of the item, colour casts. The item on another background needs
# the garment without its catalog backdrop: `Shot.garment`, drawn by the demo photo generator.


@dataclass(frozen=True)
class Shot:
    """A catalog photo and, when known, its garment alone (RGBA, same size, no backdrop)."""

    photo: Image.Image
    garment: Image.Image | None = None


ShotTransform = Callable[[Shot, random.Random], bytes]


@dataclass(frozen=True)
class CustomerVariant:
    """One named customer-style transform."""

    name: str
    make: ShotTransform
    needs_garment: bool = False


def _random_crop(img: Image.Image, rng: random.Random, low: float, high: float) -> Image.Image:
    """Cut a random share in [low, high] of each side, split at random between its two ends."""
    share_x, share_y = rng.uniform(low, high), rng.uniform(low, high)
    cut_x, cut_y = img.width * share_x, img.height * share_y
    left, top = cut_x * rng.random(), cut_y * rng.random()
    return img.crop(
        (
            round(left),
            round(top),
            round(img.width - (cut_x - left)),
            round(img.height - (cut_y - top)),
        )
    )


def _mirror(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def _cast(img: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """A random white-balance shift and exposure: each channel scaled, then a gamma."""
    gains = np.array([rng.uniform(1 - strength, 1 + strength) for _ in range(3)], np.float32)
    gains /= gains.mean() / rng.uniform(0.85, 1.1)
    gamma = rng.uniform(0.8, 1.25)
    pixels = np.asarray(img.convert("RGB"), dtype=np.float32) / 255
    pixels = np.clip(pixels * gains, 0, 1) ** gamma
    return Image.fromarray((pixels * 255).astype(np.uint8))


def _noise(img: Image.Image, rng: random.Random, sigma: float) -> Image.Image:
    pixels = np.asarray(img.convert("RGB"), dtype=np.float32)
    grain = np.random.default_rng(rng.getrandbits(32)).normal(0, sigma, pixels.shape)
    return Image.fromarray(np.clip(pixels + grain, 0, 255).astype(np.uint8))


def _smooth_field(rng: random.Random, size: tuple[int, int], cells: int) -> NDArray[np.float32]:
    """Smooth random values in [0, 1] over `size` (width, height): upscaled coarse noise."""
    coarse = np.random.default_rng(rng.getrandbits(32)).random((cells, cells)).astype(np.float32)
    img = Image.fromarray((coarse * 255).astype(np.uint8)).resize(size, Image.Resampling.BICUBIC)
    field: NDArray[np.float32] = np.asarray(img, dtype=np.float32) / np.float32(255)
    return field


def background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A surface a customer lays or hangs an item on: a bed sheet, a wooden floor, a carpet, a
    painted wall with a door, or a cluttered room; in a random colour and light."""
    width, height = size
    kind = rng.choice(["sheet", "floor", "carpet", "wall", "room"])
    hue = np.array([rng.uniform(40, 230) for _ in range(3)], dtype=np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    if kind == "sheet":
        folds = _smooth_field(rng, size, rng.randint(3, 6))
        shade = 0.75 + 0.35 * folds
        weave = 1 + 0.04 * np.sin(xx * rng.uniform(0.8, 1.6)) * np.sin(yy * rng.uniform(0.8, 1.6))
        pixels = hue * (shade * weave)[..., None]
    elif kind == "floor":
        plank = rng.randint(60, 140)
        index = (yy // plank).astype(np.int32)
        offsets = np.array([rng.uniform(-0.15, 0.15) for _ in range(height // plank + 2)])
        grain = np.sin(xx * 0.05 + 4 * _smooth_field(rng, size, 8) * 6.28) * 0.08
        shade = 0.85 + offsets[index] + grain - 0.3 * ((yy % plank) < 3)
        wood = np.array([rng.uniform(120, 190), rng.uniform(80, 130), rng.uniform(40, 80)])
        pixels = wood.astype(np.float32) * shade[..., None]
    elif kind == "carpet":
        fibres = np.random.default_rng(rng.getrandbits(32)).normal(0, 18, (height, width, 3))
        pixels = hue * (0.8 + 0.3 * _smooth_field(rng, size, 12))[..., None] + fibres
    elif kind == "wall":
        pixels = hue * (0.85 + 0.2 * _smooth_field(rng, size, 3))[..., None]
        canvas = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(canvas)
        x0 = rng.randint(0, width // 2)
        frame = tuple(int(c * 0.7) for c in hue)
        draw.rectangle((x0, height // 6, x0 + width // 3, height), outline=frame, width=12)
        draw.ellipse(
            (x0 + width // 3 - 60, height // 2, x0 + width // 3 - 30, height // 2 + 30),
            fill=(200, 190, 150),
        )
        pixels = np.asarray(canvas, dtype=np.float32)
    else:
        pixels = hue * (0.8 + 0.25 * _smooth_field(rng, size, 4))[..., None]
        canvas = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(canvas)
        for _ in range(rng.randint(4, 9)):  # furniture, frames, a plant pot
            x, y = rng.randint(0, width), rng.randint(0, height)
            w, h = rng.randint(60, width // 2), rng.randint(60, height // 2)
            colour = tuple(rng.randint(20, 235) for _ in range(3))
            if rng.random() < 0.6:
                draw.rectangle((x, y, x + w, y + h), fill=colour)
            else:
                draw.ellipse((x, y, x + w, y + h), fill=colour)
        pixels = np.asarray(canvas.filter(ImageFilter.GaussianBlur(2)), dtype=np.float32)
    # One light for the whole scene: brighter towards a random window.
    wx, wy = rng.uniform(0, width), rng.uniform(0, height)
    falloff = 1.15 - 0.35 * np.hypot(xx - wx, yy - wy) / math.hypot(width, height)
    pixels = pixels * falloff[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def on_other_background(shot: Shot, rng: random.Random, *, mirror: bool = False) -> bytes:
    """The item laid or hung elsewhere: the garment on a new background, at another scale and
    angle, with a soft shadow, and the whole scene in other light."""
    assert shot.garment is not None
    garment = _mirror(shot.garment) if mirror else shot.garment
    box = garment.getbbox() or (0, 0, garment.width, garment.height)
    garment = garment.crop(box)
    portrait = rng.random() < 0.6
    size = (960, 1280) if portrait else (1280, 960)
    scene = background(rng, size).convert("RGBA")
    scale = rng.uniform(0.55, 0.9) * min(size[0] / garment.width, size[1] / garment.height)
    garment = garment.resize(
        (max(1, round(garment.width * scale)), max(1, round(garment.height * scale))),
        Image.Resampling.LANCZOS,
    )
    garment = garment.rotate(rng.uniform(-12, 12), Image.Resampling.BICUBIC, expand=True)
    x = rng.randint(0, max(0, size[0] - garment.width))
    y = rng.randint(0, max(0, size[1] - garment.height))
    alpha = garment.getchannel("A")
    shadow = Image.new("L", size, 0)
    shadow.paste(alpha.filter(ImageFilter.GaussianBlur(14)), (x + rng.randint(-15, 15), y + 12))
    dark = np.asarray(shadow, dtype=np.float32)[..., None] / 255 * rng.uniform(0.2, 0.45)
    pixels = np.asarray(scene, dtype=np.float32)
    pixels[..., :3] *= 1 - dark
    scene = Image.fromarray(pixels.astype(np.uint8), "RGBA")
    scene.alpha_composite(garment, (x, y))
    lit = _cast(scene.convert("RGB"), rng, 0.12)
    return to_telegram_jpeg(_noise(lit, rng, rng.uniform(2, 6)))


def _sticker(draw: ImageDraw.ImageDraw, x: int, y: int, size: int, rng: random.Random) -> None:
    """A messenger sticker: a smiley, a heart, or a text badge."""
    kind = rng.choice(["smiley", "heart", "badge"])
    if kind == "smiley":
        draw.ellipse((x, y, x + size, y + size), fill="#ffcc33", outline="#c08a00", width=4)
        eye = size // 8
        for ex in (x + size // 3, x + 2 * size // 3):
            draw.ellipse((ex - eye, y + size // 3 - eye, ex + eye, y + size // 3 + eye), "#222")
        draw.arc(
            (x + size // 4, y + size // 3, x + 3 * size // 4, y + 3 * size // 4),
            20,
            160,
            fill="#222",
            width=5,
        )
    elif kind == "heart":
        r = size // 4
        draw.ellipse((x, y, x + 2 * r, y + 2 * r), fill="#ff3b5c")
        draw.ellipse((x + 2 * r, y, x + 4 * r, y + 2 * r), fill="#ff3b5c")
        draw.polygon([(x, y + r), (x + 4 * r, y + r), (x + 2 * r, y + size)], fill="#ff3b5c")
    else:
        text = rng.choice(["SALE -20%", "NEW", "HIT", "-15%", "TOP"])
        draw.rounded_rectangle((x, y, x + size * 2, y + size // 2), 18, fill="#ffffff")
        draw.text(
            (x + size, y + size // 4), text, fill="#e0245e", font=_font(size // 3), anchor="mm"
        )


def _with_stickers(img: Image.Image, rng: random.Random) -> Image.Image:
    """Stickers and a caption over the picture, as in a story or a repost."""
    img = img.convert("RGB").copy()
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(1, 3)):
        size = round(min(img.size) * rng.uniform(0.12, 0.2))
        x = rng.randint(0, max(0, img.width - 2 * size))
        y = rng.randint(0, max(0, img.height - size))
        _sticker(draw, x, y, size, rng)
    caption = rng.choice(["want it!", "in stock?", "new drop", "price?"])
    caption_y = rng.choice([0.06, 0.85]) * img.height
    draw.text(
        (img.width / 2, caption_y),
        caption,
        fill="white",
        font=_font(max(12, img.width // 14)),
        anchor="mm",
        stroke_width=3,
        stroke_fill="black",
    )
    return img


def feed_screenshot(shot: Shot, rng: random.Random) -> bytes:
    """A screenshot of the shop's feed: the post cropped to 4:5 as the feed shows it, with a
    caption and stickers over it, the post's text below, and the next post's top at the
    bottom."""
    photo = shot.photo.convert("RGB")
    if rng.random() < 0.5:
        photo = _random_crop(photo, rng, 0.0, 0.12)
    width = 1080
    photo_h = round(width * 1.25)
    # The feed fills a 4:5 frame: scale to cover, cut the overflow at random.
    scale = max(width / photo.width, photo_h / photo.height)
    covered = photo.resize(
        (round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS
    )
    dx = rng.randint(0, covered.width - width)
    dy = rng.randint(0, covered.height - photo_h)
    post = _with_stickers(covered.crop((dx, dy, dx + width, dy + photo_h)), rng)
    status, header, author, actions, text = 80, 130, 120, 110, 170
    height = 2340
    dark = rng.random() < 0.4
    paper, ink = ("#000000", "#f5f5f5") if dark else ("#ffffff", "#111111")
    page = Image.new("RGB", (width, height), paper)
    draw = ImageDraw.Draw(page)
    _status_bar(draw, width, status, ink, rng)
    y = status
    draw.text((40, y + header // 2), "kramar.shop", fill=ink, font=_font(56), anchor="lm")
    y += header
    draw.ellipse((40, y + 20, 120, y + 100), fill="#c13584")
    draw.text((140, y + author // 2), "kramar.shop", fill=ink, font=_font(36), anchor="lm")
    y += author
    page.paste(post, (0, y))
    y += photo_h
    _icon_row(draw, y + actions // 2, [70, 170, 270, width - 70], ink)
    y += actions
    for line in (
        "kramar.shop New collection is here! Soft and warm",
        "Sizes S-XL, DM us to order",
    ):
        draw.text((40, y + 10), line, fill=ink, font=_font(32))
        y += 50
    y += text - 100
    if y < height - 150:
        nxt = background(rng, (width, height - 150 - y))
        page.paste(nxt, (0, y))
    draw.rectangle((0, height - 150, width, height), fill=paper)
    _icon_row(draw, height - 75, [108 + 216 * i for i in range(5)], ink, size=28)
    return to_telegram_jpeg(page)


def chat_screenshot(shot: Shot, rng: random.Random) -> bytes:
    """A messenger screenshot of a cropped repost with stickers."""
    img = _with_stickers(_random_crop(shot.photo.convert("RGB"), rng, 0.05, 0.15), rng)
    return screenshot_dark_chat(img, rng)


def screen_photo(shot: Shot, rng: random.Random) -> bytes:
    """A phone photo of a laptop screen showing the picture, sometimes mirrored or cropped."""
    img = shot.photo.convert("RGB")
    if rng.random() < 0.3:
        img = _random_crop(img, rng, 0.05, 0.12)
    return photo_of_screen(img, rng)


def partial_view(shot: Shot, rng: random.Random) -> bytes:
    """Part of the item: a window over 55-75 % of each side, touching one edge."""
    img = shot.photo.convert("RGB")
    share_x, share_y = rng.uniform(0.65, 0.85), rng.uniform(0.55, 0.75)
    w, h = round(img.width * share_x), round(img.height * share_y)
    x = rng.choice([0, img.width - w, (img.width - w) // 2])
    y = rng.choice([0, img.height - h])
    part = img.crop((x, y, x + w, y + h))
    return to_telegram_jpeg(
        part.resize((part.width * 2, part.height * 2), Image.Resampling.BICUBIC)
    )


def _crop_variant(low: float, high: float, *, mirror: bool = False) -> ShotTransform:
    def make(shot: Shot, rng: random.Random) -> bytes:
        img = _random_crop(shot.photo.convert("RGB"), rng, low, high)
        img = _mirror(img) if mirror else img
        # Phones upscale what they show; customers send it at screen size.
        return to_telegram_jpeg(
            img.resize((img.width * 2, img.height * 2), Image.Resampling.BICUBIC)
        )

    return make


def colour_cast(shot: Shot, rng: random.Random) -> bytes:
    """A strong white-balance shift and exposure change, with a little noise and a crop."""
    img = _random_crop(shot.photo.convert("RGB"), rng, 0.0, 0.1)
    return to_telegram_jpeg(_noise(_cast(img, rng, 0.25), rng, 4))


def low_light(shot: Shot, rng: random.Random) -> bytes:
    """A dark, noisy, slightly blurred phone photo, turned a little."""
    img = shot.photo.convert("RGB").rotate(
        rng.uniform(-8, 8), Image.Resampling.BICUBIC, expand=True, fillcolor=(40, 40, 40)
    )
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.45, 0.65))
    img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2)))
    return to_telegram_jpeg(_noise(img.resize((img.width * 2, img.height * 2)), rng, 8), 70)


CUSTOMER_VARIANTS: tuple[CustomerVariant, ...] = (
    CustomerVariant("crop 8-14%", _crop_variant(0.08, 0.14)),
    CustomerVariant("crop 14-20%", _crop_variant(0.14, 0.20)),
    CustomerVariant("mirror", _crop_variant(0.0, 0.0, mirror=True)),
    CustomerVariant("mirror + crop 8-20%", _crop_variant(0.08, 0.20, mirror=True)),
    CustomerVariant("other background", on_other_background, needs_garment=True),
    CustomerVariant(
        "other background, mirror",
        lambda shot, rng: on_other_background(shot, rng, mirror=True),
        needs_garment=True,
    ),
    CustomerVariant("feed screenshot + stickers", feed_screenshot),
    CustomerVariant("chat screenshot + stickers", chat_screenshot),
    CustomerVariant("photo of a screen", screen_photo),
    CustomerVariant("partial view", partial_view),
    CustomerVariant("colour cast", colour_cast),
    CustomerVariant("low light, turned", low_light),
)
"""Customer-style transforms of the second stage's table, in the order it prints them."""


def garment_layers(catalog: Path) -> dict[str, Image.Image]:
    """The garment of every demo photo without its backdrop (RGBA), by photo file name.

    Drawn again by the demo photo generator at the variant it chose for each product (about
    15 s: the generator's search for distinct hashes runs again).
    """
    from scripts import generate_demo_photos as demo

    products = {p.sku: p for p in demo.read_catalog(catalog) if p.photos}
    layers: dict[str, Image.Image] = {}
    for photo in demo.generate(list(products.values())):
        product = products[photo.sku]
        view = product.photos.index(photo.path)
        layers[Path(photo.path).name] = demo.garment_layer(product, view, photo.variant)
    return layers


# Things the shop does not sell: (category, colour, description) for the demo photo generator.
# Each differs from every demo product in its pattern, colour or cut.
_STRANGER_GARMENTS = (
    ("худі", "жовтий", "Худі в горошок з капюшоном"),
    ("сукні", "смарагдовий", "Сукня в широку смужку"),
    ("спідниці", "синій", "Джинсова спідниця міні"),
    ("штани", "коричневий", "Штани в клітинку"),
    ("футболки", "гірчичний", "Футболка з шовку сатин"),
    ("піжами", "блакитний", "Піжама в смужку"),
    ("світшоти", "смарагдовий", "Стьобаний світшот"),
    ("пальта", "сірий", "Пальто в клітинку"),
    ("сорочки", "темно-синій", "Сорочка в горошок"),
    ("шорти", "жовтий", "Шорти з льону"),
    ("костюми", "сірий", "Костюм у смужку"),
    ("легінси", "зелений", "Легінси скіні"),
    ("кардигани", "лавандовий", "Кардиган в клітинку"),
    ("куртки", "червоний", "Куртка з капюшоном на блискавці"),
)


def stranger_photos(seed: int) -> list[tuple[str, bytes]]:
    """Photos of things not in the demo catalog, as customers would send them: garments the shop
    does not sell (front and back, some on other backgrounds), textures, and random scenes."""
    from scripts import generate_demo_photos as demo

    photos: list[tuple[str, bytes]] = []
    for i, (category, colour, text) in enumerate(_STRANGER_GARMENTS):
        product = demo.Product(
            sku=f"XX-{i:03d}",
            name=text,
            category=category,
            colours=(colour,),
            tags=(),
            text=text.lower(),
            photos=("front.png", "back.png"),
        )
        for view in (0, 1):
            rng = random.Random(f"{seed}:stranger:{i}:{view}")
            garment = demo.garment_layer(product, view, seed % 1000)
            photo = demo.render(product, view, seed % 1000)
            if rng.random() < 0.5:
                sent = on_other_background(Shot(photo, garment), rng)
            else:
                sent = to_telegram_jpeg(_random_crop(photo, rng, 0.0, 0.12))
            photos.append((f"garment {text!r} view {view}", sent))
    for i in range(12):
        rng = random.Random(f"{seed}:texture:{i}")
        photos.append((f"texture {i}", to_telegram_jpeg(texture_picture(rng))))
    for i in range(12):
        rng = random.Random(f"{seed}:scene:{i}")
        photos.append((f"scene {i}", to_telegram_jpeg(_noise(scene_picture(rng), rng, 4))))
    return photos


def texture_picture(rng: random.Random) -> Image.Image:
    """A close-up of a surface: a knit, a check, marble, or noise."""
    size = (1024, 1024)
    kind = rng.choice(["knit", "check", "marble", "noise"])
    yy, xx = np.mgrid[0 : size[1], 0 : size[0]].astype(np.float32)
    colour = np.array([rng.uniform(30, 230) for _ in range(3)], np.float32)
    if kind == "knit":
        period = rng.uniform(14, 30)
        wave = np.abs(np.sin(xx / period * math.pi + np.abs(np.sin(yy / period * math.pi))))
        pixels = colour * (0.6 + 0.5 * wave)[..., None]
    elif kind == "check":
        period = rng.randint(30, 90)
        check = ((xx // period + yy // period) % 2).astype(np.float32)
        other = np.array([rng.uniform(30, 230) for _ in range(3)], np.float32)
        pixels = colour * check[..., None] + other * (1 - check[..., None])
    elif kind == "marble":
        veins = np.sin(xx * 0.02 + 8 * _smooth_field(rng, size, 6))
        pixels = colour * (0.75 + 0.25 * veins)[..., None]
    else:
        pixels = colour * (0.5 + _smooth_field(rng, size, 32))[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def scene_picture(rng: random.Random) -> Image.Image:
    """A random photo-like scene: a background with shapes and a few words on it."""
    img = background(rng, (1280, 960) if rng.random() < 0.5 else (960, 1280))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 10)):
        x, y, r = rng.randint(0, img.width), rng.randint(0, img.height), rng.randint(30, 250)
        colour = tuple(rng.randint(0, 255) for _ in range(3))
        shape = rng.choice(["ellipse", "rectangle", "polygon"])
        if shape == "ellipse":
            draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
        elif shape == "rectangle":
            draw.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=colour)
        else:
            points = [(x + rng.randint(-r, r), y + rng.randint(-r, r)) for _ in range(5)]
            draw.polygon(points, fill=colour)
    if rng.random() < 0.5:
        draw.text(
            (60, 60), rng.choice(["Coffee", "Kyiv 2024", "Hello!"]), fill="black", font=_font(80)
        )
    return img
