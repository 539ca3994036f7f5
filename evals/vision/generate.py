"""Customer-style photos for the vision eval, made from the demo catalog's photos.

Run: `uv run python -m evals.vision.generate` (rewrites evals/vision/photos/ and manifest.yaml).

Written on its own, apart from the generator the photo index was tuned with, so that this set
stays unseen by it. Everything is deterministic from `SEED`: each photo has its own
`random.Random(f"{SEED}:{name}")`, so adding a photo never changes the others, and
tests/evals/test_vision_dataset.py checks that the generator still draws the committed files.

What a customer really sends, photo by photo:
- feed: a screenshot of the shop's feed (status bar, header, likes, caption with a price);
- chat: a screenshot of a chat where the photo was forwarded, with bubbles and a sticker;
- crop: part of the photo, off-centre, as a cropped repost;
- mirror: the mirror image, slightly turned, as a mirror selfie or a flipped repost;
- table / bed / hanger: the item cut out and laid on another surface, in other light;
- screen: a phone photo of a laptop screen showing the photo (perspective, moiré, glare);
- partial: only the top, bottom or one side of the item;
- cast: a colour cast (warm, cool, green, magenta) with exposure change and sensor noise.
Plus photos of things the catalog does not sell (hats, bags, shoes, shorts, a mug, a cat,
textures, a street) and the photos of the catalog's inactive products.
"""

from __future__ import annotations

import hashlib
import io
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import yaml
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter, ImageFont, ImageOps

SEED = 16
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CATALOG = ROOT / "data" / "catalog" / "products_master.yaml"
PHOTOS = HERE / "photos"
MANIFEST = HERE / "manifest.yaml"
LONG_SIDE = 640
QUALITY = 80
KINDS = ("feed", "chat", "crop", "mirror", "table", "bed", "hanger", "screen", "partial", "cast")
PER_PRODUCT = 3

Image_ = Image.Image
Rng = random.Random


# ------------------------------------------------------------------------------------------------
# Helpers


def font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's bundled font: the same glyphs on every machine (it has no Cyrillic, so captions
    # are transliterated, as many shops write them anyway).
    return ImageFont.load_default(size=size)


def fit(image: Image_, width: int, height: int) -> Image_:
    """`image` scaled to fit inside width × height (aspect kept)."""
    scale = min(width / image.width, height / image.height)
    return image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))


def to_long_side(image: Image_, side: int = LONG_SIDE) -> Image_:
    scale = side / max(image.size)
    return image.resize((round(image.width * scale), round(image.height * scale)), Image.LANCZOS)


def noise(image: Image_, rng: Rng, sigma: float) -> Image_:
    generator = np.random.default_rng(rng.randrange(2**32))
    array = np.asarray(image, dtype=np.float32)
    array = array + generator.normal(0, sigma, array.shape)
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def gradient(
    size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> Image_:
    width, height = size
    t = np.linspace(0, 1, height)[:, None, None]
    array = np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t
    return Image.fromarray(np.repeat(array, width, axis=1).astype(np.uint8))


def light(image: Image_, rng: Rng, strength: float) -> Image_:
    """A soft light falloff from a random point (a lamp, a window)."""
    width, height = image.size
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)
    yy, xx = np.mgrid[0:height, 0:width]
    distance = np.hypot(xx - cx, yy - cy) / math.hypot(width, height)
    factor = 1.0 + strength * (0.5 - distance)
    array = np.asarray(image, np.float32) * factor[:, :, None]
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def cutout(image: Image_) -> Image_:
    """The item without its studio background (GrabCut at half size), as RGBA."""
    rgb = np.asarray(image.convert("RGB"))
    small = cv2.resize(rgb, (rgb.shape[1] // 2, rgb.shape[0] // 2), interpolation=cv2.INTER_AREA)
    height, width = small.shape[:2]
    cv2.setRNGSeed(SEED)
    mask = np.zeros((height, width), np.uint8)
    models = (np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64))
    margin = 6
    rect = (margin, margin, width - 2 * margin, height - 2 * margin)
    bgr = cv2.cvtColor(small, cv2.COLOR_RGB2BGR)
    cv2.grabCut(bgr, mask, rect, models[0], models[1], 4, cv2.GC_INIT_WITH_RECT)
    keep = np.where((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    keep = cv2.resize(keep, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)
    alpha = Image.fromarray(keep).filter(ImageFilter.GaussianBlur(1.2))
    rgba = image.convert("RGBA")
    rgba.putalpha(alpha)
    return rgba.crop(alpha.getbbox() or (0, 0, *image.size))


def paste_with_shadow(canvas: Image_, item: Image_, xy: tuple[int, int], rng: Rng) -> None:
    alpha = item.getchannel("A")
    shadow = Image.new("RGBA", item.size, (0, 0, 0, 0))
    shadow.putalpha(alpha.point(lambda a: int(a * 0.45)))
    shadow = shadow.filter(ImageFilter.GaussianBlur(rng.uniform(6, 12)))
    offset = (xy[0] + rng.randint(4, 14), xy[1] + rng.randint(6, 16))
    canvas.paste(shadow, offset, shadow)
    canvas.paste(item, xy, item)


def perspective(image: Image_, rng: Rng, amount: float, fill: tuple[int, int, int]) -> Image_:
    """A photo of a flat thing taken at an angle: corners moved by up to `amount` of the size."""
    width, height = image.size
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = [
        (rng.uniform(-amount, amount) * width, rng.uniform(-amount, amount) * height)
        for _ in range(4)
    ]
    dst = np.float32([[x + dx, y + dy] for (x, y), (dx, dy) in zip(src, jitter, strict=True)])
    matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(
        np.asarray(image),
        matrix,
        (width, height),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=fill,
    )
    return Image.fromarray(warped)


# ------------------------------------------------------------------------------------------------
# Surfaces


def wood(size: tuple[int, int], rng: Rng) -> Image_:
    width, height = size
    base = np.array(rng.choice([(150, 105, 70), (190, 150, 105), (110, 75, 50), (205, 180, 140)]))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    phase = rng.uniform(0, 6.28)
    grain = np.sin(yy / rng.uniform(5, 9) + 3 * np.sin(xx / rng.uniform(60, 120) + phase))
    planks = ((xx // rng.randint(90, 150)) % 2) * rng.uniform(-12, 12)
    array = base[None, None, :] + (grain * 14 + planks)[:, :, None]
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def bedspread(size: tuple[int, int], rng: Rng) -> Image_:
    width, height = size
    colours = [(235, 232, 225), (200, 210, 225), (230, 205, 200), (180, 190, 170), (90, 95, 110)]
    base = np.array(rng.choice(colours), np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    folds = np.sin(xx / rng.uniform(40, 70) + np.sin(yy / rng.uniform(50, 90)) * 2) * 18
    weave = ((xx.astype(int) // 3 + yy.astype(int) // 3) % 2) * 6.0
    array = base[None, None, :] + (folds + weave)[:, :, None]
    image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    if rng.random() < 0.5:  # a patterned cover
        draw = ImageDraw.Draw(image)
        step = rng.randint(40, 70)
        ink = tuple(int(c * 0.8) for c in base)
        for y in range(0, height, step):
            for x in range((y // step % 2) * step // 2, width, step):
                draw.ellipse((x, y, x + 10, y + 10), fill=ink)
    return image.filter(ImageFilter.GaussianBlur(0.6))


def wall(size: tuple[int, int], rng: Rng) -> Image_:
    top = tuple(rng.randint(170, 235) for _ in range(3))
    bottom = tuple(max(0, c - rng.randint(30, 70)) for c in top)
    image = gradient(size, top, bottom)  # type: ignore[arg-type]
    return noise(image, rng, 3)


# ------------------------------------------------------------------------------------------------
# Transforms of a catalog photo


@dataclass(frozen=True)
class Source:
    sku: str
    name: str
    latin: str
    price: float
    photo: Image_


CAPTIONS = ("Nova kolektsiia", "V nayavnosti", "Khit sezonu", "Rozmiry S-XL", "Dostavka 1-2 dni")


def feed(source: Source, rng: Rng) -> Image_:
    width, height = 400, 720
    dark = rng.random() < 0.4
    back, ink = ((18, 18, 18), (235, 235, 235)) if dark else ((255, 255, 255), (20, 20, 20))
    canvas = Image.new("RGB", (width, height), back)
    draw = ImageDraw.Draw(canvas)
    draw.text((14, 8), f"{rng.randint(8, 22)}:{rng.randint(10, 59)}", font=font(14), fill=ink)
    draw.rectangle((width - 44, 10, width - 16, 22), outline=ink)
    draw.ellipse((12, 40, 48, 76), fill=(rng.randint(150, 230), 90, 140))
    draw.text(
        (58, 48), rng.choice(["kramar.shop", "kramar_ua", "kramar.store"]), font=font(16), fill=ink
    )
    photo = fit(source.photo, width, 470)
    top = 86
    canvas.paste(photo, ((width - photo.width) // 2, top))
    y = top + photo.height + 10
    for x in (14, 50, 86):  # like, comment, share
        draw.ellipse((x, y, x + 22, y + 22), outline=ink, width=2)
    draw.text((14, y + 32), f"{rng.randint(12, 900)} likes", font=font(14), fill=ink)
    price = f"{source.price:,.0f}".replace(",", " ")
    draw.text((14, y + 54), f"{source.latin} - {price} hrn", font=font(15), fill=ink)
    draw.text((14, y + 76), rng.choice(CAPTIONS), font=font(13), fill=(120, 120, 120))
    return canvas


def sticker(canvas: Image_, rng: Rng, centre: tuple[int, int], radius: int) -> None:
    draw = ImageDraw.Draw(canvas)
    x, y = centre
    face = rng.choice([(255, 205, 60), (255, 150, 170), (130, 200, 255)])
    draw.ellipse(
        (x - radius, y - radius, x + radius, y + radius), fill=face, outline=(60, 40, 20), width=3
    )
    eye = radius // 5
    for dx in (-radius // 3, radius // 3):
        draw.ellipse(
            (x + dx - eye, y - radius // 4 - eye, x + dx + eye, y - radius // 4 + eye),
            fill=(40, 30, 20),
        )
    draw.arc(
        (x - radius // 2, y - radius // 6, x + radius // 2, y + radius // 2),
        10,
        170,
        fill=(40, 30, 20),
        width=4,
    )


def chat(source: Source, rng: Rng) -> Image_:
    width, height = 400, 720
    back = rng.choice([(220, 230, 215), (205, 220, 235), (35, 45, 60)])
    canvas = Image.new("RGB", (width, height), back)
    draw = ImageDraw.Draw(canvas)
    for i in range(0, width + height, 46):  # the messenger's wallpaper
        draw.line((i, 0, i - height, height), fill=tuple(max(0, c - 10) for c in back), width=2)
    draw.rectangle((0, 0, width, 56), fill=(80, 120, 170))
    draw.text(
        (60, 18), rng.choice(["Olena", "Mama", "Iryna K.", "Shopping"]), font=font(17), fill="white"
    )
    bubble = (246, 246, 246) if back[0] > 100 else (60, 75, 95)
    ink = (20, 20, 20) if back[0] > 100 else (235, 235, 235)
    draw.rounded_rectangle((14, 70, 250, 110), 14, fill=bubble)
    draw.text(
        (26, 82), rng.choice(["Dyvys yake!", "Os ce khochu", "Yak tobi?"]), font=font(14), fill=ink
    )
    photo = fit(source.photo, 280, 400)
    left, top = rng.randint(14, width - photo.width - 14), 124
    draw.rounded_rectangle(
        (left - 6, top - 6, left + photo.width + 6, top + photo.height + 42), 16, fill=bubble
    )
    canvas.paste(photo, (left, top))
    draw.text((left + 4, top + photo.height + 10), f"{source.latin} hrn?", font=font(14), fill=ink)
    sticker(
        canvas,
        rng,
        (rng.randint(60, width - 60), top + photo.height + rng.randint(70, 130)),
        rng.randint(34, 52),
    )
    if rng.random() < 0.5:  # a sticker over a corner of the photo
        sticker(canvas, rng, (left + photo.width - 20, top + 20), 28)
    draw.rounded_rectangle((10, height - 50, width - 10, height - 12), 18, fill=bubble)
    return canvas


def crop(source: Source, rng: Rng) -> Image_:
    width, height = source.photo.size
    share = rng.uniform(0.55, 0.8)
    cw, ch = int(width * math.sqrt(share) * rng.uniform(0.9, 1.1)), int(height * math.sqrt(share))
    cw = min(cw, width)
    x, y = rng.randint(0, width - cw), rng.randint(0, height - ch)
    return source.photo.crop((x, y, x + cw, y + ch))


def mirror(source: Source, rng: Rng) -> Image_:
    flipped = ImageOps.mirror(source.photo)
    angle = rng.uniform(-5, 5)
    fill = flipped.getpixel((2, 2))
    turned = flipped.rotate(angle, resample=Image.BICUBIC, expand=False, fillcolor=fill)
    zoom = rng.uniform(1.0, 1.12)
    width, height = turned.size
    cw, ch = int(width / zoom), int(height / zoom)
    x, y = (width - cw) // 2, (height - ch) // 2
    return turned.crop((x, y, x + cw, y + ch))


def laid_on(
    surface: Callable[[tuple[int, int], Rng], Image_], tilt: float
) -> Callable[[Source, Rng], Image_]:
    def transform(source: Source, rng: Rng) -> Image_:
        size = (480, 640) if rng.random() < 0.7 else (640, 480)
        canvas = surface(size, rng).convert("RGBA")
        item = cutout(source.photo)
        item = item.rotate(rng.uniform(-12, 12), resample=Image.BICUBIC, expand=True)
        scale = rng.uniform(0.65, 0.85) * min(size[0] / item.width, size[1] / item.height)
        item = item.resize((max(1, int(item.width * scale)), max(1, int(item.height * scale))))
        xy = (
            (size[0] - item.width) // 2 + rng.randint(-25, 25),
            (size[1] - item.height) // 2 + rng.randint(-25, 25),
        )
        paste_with_shadow(canvas, item, xy, rng)
        image = perspective(canvas.convert("RGB"), rng, tilt, (0, 0, 0))
        image = ImageOps.crop(image, int(tilt * 1.2 * min(size)))
        return light(image, rng, rng.uniform(0.3, 0.7))

    return transform


def hanger(source: Source, rng: Rng) -> Image_:
    size = (480, 640)
    canvas = wall(size, rng).convert("RGBA")
    draw = ImageDraw.Draw(canvas)
    item = cutout(source.photo)
    scale = rng.uniform(0.6, 0.75) * min(size[0] / item.width, (size[1] - 90) / item.height)
    item = item.resize((max(1, int(item.width * scale)), max(1, int(item.height * scale))))
    x, y = (size[0] - item.width) // 2, 100
    metal = (70, 70, 75) if rng.random() < 0.5 else (150, 110, 60)
    cx = size[0] // 2
    draw.arc((cx - 16, 40, cx + 16, 76), 180, 360, fill=metal, width=5)
    draw.line((cx + 16, 58, cx, 90), fill=metal, width=5)
    draw.line((cx, 90, x + 10, y + 14), fill=metal, width=6)
    draw.line((cx, 90, x + item.width - 10, y + 14), fill=metal, width=6)
    paste_with_shadow(canvas, item, (x, y), rng)
    image = light(canvas.convert("RGB"), rng, rng.uniform(0.4, 0.8))
    return image.rotate(
        rng.uniform(-4, 4), resample=Image.BICUBIC, fillcolor=image.getpixel((1, 1))
    )


def screen(source: Source, rng: Rng) -> Image_:
    width, height = 640, 480
    room = gradient((width, height), (rng.randint(40, 90),) * 3, (rng.randint(10, 40),) * 3)  # type: ignore[arg-type]
    bezel = (28, 28, 30)
    draw = ImageDraw.Draw(room)
    draw.rounded_rectangle((70, 40, 570, 410), 12, fill=bezel)
    display = Image.new("RGB", (470, 340), (250, 250, 250))
    shown = fit(source.photo, 250, 330)
    display.paste(shown, (rng.randint(10, 470 - shown.width - 10), 5))
    ImageDraw.Draw(display).text((300, 40), source.latin, font=font(16), fill=(30, 30, 30))
    room.paste(display, (85, 55))
    array = np.asarray(room, np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    period = rng.uniform(3.2, 5.5)
    moire = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period)
    moire = moire * np.sin(xx * 2 * math.pi / (period * 1.07))
    array = array * (1 + 0.09 * moire[:, :, None])
    glare = np.exp(
        -(((xx - rng.uniform(150, 500)) / 140) ** 2 + ((yy - rng.uniform(80, 300)) / 110) ** 2)
    )
    array = array + 60 * glare[:, :, None]
    image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    image = perspective(image, rng, 0.08, (15, 15, 15))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 1.2)))
    return noise(image, rng, 4)


def partial(source: Source, rng: Rng) -> Image_:
    width, height = source.photo.size
    share = rng.uniform(0.4, 0.55)
    match rng.choice(["top", "bottom", "left", "right"]):
        case "top":
            box = (0, 0, width, int(height * share))
        case "bottom":
            box = (0, int(height * (1 - share)), width, height)
        case "left":
            box = (0, 0, int(width * share), height)
        case _:
            box = (int(width * (1 - share)), 0, width, height)
    return source.photo.crop(box)


def cast(source: Source, rng: Rng) -> Image_:
    tint = np.array(
        rng.choice([(1.18, 1.0, 0.78), (0.8, 0.95, 1.2), (0.9, 1.15, 0.88), (1.12, 0.85, 1.1)])
    )
    array = np.asarray(source.photo.convert("RGB"), np.float32) * tint[None, None, :]
    image = Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))
    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.7, 1.25))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.8, 1.2))
    return noise(image, rng, rng.uniform(4, 9))


TRANSFORMS: dict[str, Callable[[Source, Rng], Image_]] = {
    "feed": feed,
    "chat": chat,
    "crop": crop,
    "mirror": mirror,
    "table": laid_on(wood, 0.07),
    "bed": laid_on(bedspread, 0.1),
    "hanger": hanger,
    "screen": screen,
    "partial": partial,
    "cast": cast,
}


# ------------------------------------------------------------------------------------------------
# Things the shop does not sell


def _canvas(rng: Rng) -> tuple[Image_, ImageDraw.ImageDraw]:
    surface = rng.choice([wood, bedspread, wall])
    image = surface((480, 640), rng)
    return image, ImageDraw.Draw(image)


def _colour(rng: Rng) -> tuple[int, int, int]:
    return (rng.randint(20, 230), rng.randint(20, 230), rng.randint(20, 230))


def beanie(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.chord((110, 170, 370, 470), 180, 360, fill=c)
    draw.rectangle((110, 310, 370, 380), fill=tuple(int(v * 0.8) for v in c))
    draw.ellipse((215, 130, 265, 180), fill=c)
    return image


def cap(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.chord((120, 200, 360, 440), 180, 360, fill=c)
    draw.ellipse((300, 300, 450, 350), fill=tuple(int(v * 0.75) for v in c))
    return image


def scarf(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c1, c2 = _colour(rng), _colour(rng)
    for i in range(10):
        draw.polygon(
            [
                (150 + i * 6, 80 + i * 50),
                (250 + i * 6, 80 + i * 50),
                (250 + i * 6, 130 + i * 50),
                (150 + i * 6, 130 + i * 50),
            ],
            fill=c1 if i % 2 else c2,
        )
    for x in range(200, 310, 12):
        draw.line((x, 580, x, 620), fill=c1, width=3)
    return image


def sneaker(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.polygon([(90, 380), (170, 300), (260, 320), (390, 380), (400, 430), (90, 430)], fill=c)
    draw.rectangle((85, 430, 405, 455), fill=(245, 245, 245))
    for x in range(180, 260, 18):
        draw.line((x, 315, x + 10, 345), fill=(250, 250, 250), width=3)
    return image


def handbag(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.arc((160, 170, 320, 330), 180, 360, fill=tuple(int(v * 0.6) for v in c), width=12)
    draw.rounded_rectangle((110, 250, 370, 460), 24, fill=c)
    draw.rectangle((225, 280, 255, 300), fill=(210, 180, 60))
    return image


def backpack(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.rounded_rectangle((130, 140, 350, 500), 60, fill=c)
    draw.rounded_rectangle((170, 330, 310, 470), 20, fill=tuple(int(v * 0.8) for v in c))
    draw.arc((190, 90, 290, 190), 180, 360, fill=(40, 40, 40), width=10)
    return image


def socks(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    for dx in (0, 140):
        c = _colour(rng)
        draw.rectangle((120 + dx, 120, 190 + dx, 380), fill=c)
        draw.ellipse((110 + dx, 340, 250 + dx, 430), fill=c)
        draw.rectangle((120 + dx, 120, 190 + dx, 160), fill=(240, 240, 240))
    return image


def gloves(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    for dx in (0, 170):
        draw.rounded_rectangle((100 + dx, 260, 210 + dx, 420), 30, fill=c)
        for i in range(4):
            draw.rounded_rectangle((102 + dx + i * 27, 170, 124 + dx + i * 27, 280), 10, fill=c)
        draw.rounded_rectangle((70 + dx, 290, 110 + dx, 360), 16, fill=c)
    return image


def shorts(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.polygon(
        [(130, 200), (350, 200), (380, 400), (260, 410), (240, 300), (220, 410), (100, 400)], fill=c
    )
    draw.rectangle((130, 190, 350, 215), fill=tuple(int(v * 0.8) for v in c))
    return image


def swimsuit(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.polygon(
        [
            (180, 150),
            (200, 150),
            (240, 260),
            (280, 150),
            (300, 150),
            (330, 330),
            (280, 430),
            (200, 430),
            (150, 330),
        ],
        fill=c,
    )
    return image


def tie(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.polygon(
        [(220, 120), (260, 120), (250, 160), (285, 470), (240, 520), (195, 470), (230, 160)], fill=c
    )
    for y in range(200, 470, 30):
        draw.line((215, y, 270, y + 20), fill=tuple(int(v * 0.7) for v in c), width=4)
    return image


def umbrella(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.pieslice((60, 120, 420, 440), 180, 360, fill=c)
    draw.line((240, 280, 240, 520), fill=(40, 40, 40), width=8)
    draw.arc((200, 490, 240, 540), 0, 180, fill=(40, 40, 40), width=8)
    return image


def mug(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = _colour(rng)
    draw.rounded_rectangle((150, 220, 310, 440), 16, fill=c)
    draw.ellipse((150, 205, 310, 240), fill=tuple(int(v * 0.6) for v in c))
    draw.arc((280, 270, 370, 380), 270, 90, fill=c, width=18)
    return image


def plant(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    draw.polygon([(170, 400), (310, 400), (290, 540), (190, 540)], fill=(180, 90, 60))
    for i in range(9):
        angle = -math.pi / 2 + (i - 4) * 0.3
        x, y = 240 + 170 * math.cos(angle), 400 + 170 * math.sin(angle)
        draw.line((240, 400, x, y), fill=(40, 120, 50), width=6)
        draw.ellipse((x - 26, y - 14, x + 26, y + 14), fill=(50, 150 + i * 8, 60))
    return image


def cat(rng: Rng) -> Image_:
    image, draw = _canvas(rng)
    c = rng.choice([(40, 40, 40), (200, 120, 50), (150, 150, 150)])
    draw.ellipse((120, 280, 360, 500), fill=c)
    draw.ellipse((170, 170, 310, 300), fill=c)
    draw.polygon([(180, 200), (195, 130), (230, 180)], fill=c)
    draw.polygon([(300, 200), (285, 130), (250, 180)], fill=c)
    for dx in (205, 255):
        draw.ellipse((dx, 220, dx + 22, 240), fill=(120, 200, 80))
    draw.arc((330, 380, 470, 520), 180, 300, fill=c, width=16)
    return image


def phone_on_table(rng: Rng) -> Image_:
    image = wood((480, 640), rng)
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((150, 150, 330, 490), 26, fill=(20, 20, 24))
    draw.rounded_rectangle((160, 170, 320, 470), 10, fill=(60, 110, 180))
    return image


def plate(rng: Rng) -> Image_:
    image = bedspread((480, 640), rng)
    draw = ImageDraw.Draw(image)
    draw.ellipse((80, 160, 400, 480), fill=(248, 248, 248), outline=(210, 210, 210), width=6)
    for _ in range(7):
        x, y = rng.randint(170, 310), rng.randint(250, 390)
        draw.ellipse((x - 30, y - 22, x + 30, y + 22), fill=_colour(rng))
    return image


def street(rng: Rng) -> Image_:
    image = gradient((640, 480), (120, 170, 230), (220, 230, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 330, 640, 480), fill=(90, 90, 95))
    for x in range(0, 640, 110):
        h = rng.randint(120, 260)
        draw.rectangle((x, 330 - h, x + 90, 330), fill=_colour(rng))
        for wy in range(330 - h + 15, 320, 35):
            draw.rectangle((x + 15, wy, x + 35, wy + 18), fill=(240, 230, 160))
    for x in range(20, 640, 80):
        draw.rectangle((x, 400, x + 40, 408), fill=(240, 240, 240))
    return image


def fabric_texture(rng: Rng) -> Image_:
    width, height = 480, 640
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    c1, c2 = np.array(_colour(rng), np.float32), np.array(_colour(rng), np.float32)
    step = rng.randint(24, 60)
    pattern = (((xx // step) + (yy // step)) % 2)[:, :, None]
    array = c1 * pattern + c2 * (1 - pattern)
    return noise(Image.fromarray(array.astype(np.uint8)), rng, 10)


def noise_texture(rng: Rng) -> Image_:
    generator = np.random.default_rng(rng.randrange(2**32))
    small = generator.integers(0, 255, (20, 15, 3), dtype=np.uint8)
    return Image.fromarray(small).resize((480, 640), Image.BICUBIC)


def text_chat(rng: Rng) -> Image_:
    image = Image.new("RGB", (400, 720), (220, 230, 215))
    draw = ImageDraw.Draw(image)
    y = 80
    for i in range(9):
        left = i % 2 == 0
        w = rng.randint(140, 300)
        x = 14 if left else 386 - w
        draw.rounded_rectangle(
            (x, y, x + w, y + 44), 14, fill=(250, 250, 250) if left else (210, 245, 200)
        )
        draw.text(
            (x + 12, y + 14),
            rng.choice(["Pryvit!", "Koly dostavka?", "Dyakuyu", "Ok", "A shche ye?"]),
            font=font(14),
            fill=(20, 20, 20),
        )
        y += 66
    return image


OTHERS: dict[str, Callable[[Rng], Image_]] = {
    "beanie": beanie,
    "cap": cap,
    "scarf": scarf,
    "sneaker": sneaker,
    "handbag": handbag,
    "backpack": backpack,
    "socks": socks,
    "gloves": gloves,
    "shorts": shorts,
    "swimsuit": swimsuit,
    "tie": tie,
    "umbrella": umbrella,
    "mug": mug,
    "plant": plant,
    "cat": cat,
    "phone": phone_on_table,
    "plate": plate,
    "street": street,
    "fabric": fabric_texture,
    "noise": noise_texture,
    "chat_text": text_chat,
}
# Out-of-catalog photos are also sent as screenshots or lit badly: a second version of some.
OTHER_VARIANTS = ("beanie", "handbag", "sneaker", "shorts", "cat", "scarf")


# ------------------------------------------------------------------------------------------------
# The set


@dataclass(frozen=True)
class Planned:
    """One photo to draw: its file name, what it shows and how it is made."""

    file: str
    expected: str | None
    kind: str
    split: str
    draw: Callable[[], Image_]
    note: str


LATIN = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie", "ж": "zh",
        "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n",
        "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ь": "", "ю": "iu", "я": "ia", "'": "", "«": "", "»": "",
    }
)  # fmt: skip


def latin(name: str) -> str:
    return " ".join(w.capitalize() for w in name.lower().translate(LATIN).split())


def split_of(sku: str, skus_in_category: list[str]) -> str:
    """By product, alternating within each category: test products are never tuned on, and
    both splits hold every kind of garment."""
    return "dev" if skus_in_category.index(sku) % 2 == 0 else "test"


def plan(catalog: Path = CATALOG) -> list[Planned]:
    """Every photo of the set, in file-name order."""
    data = yaml.safe_load(catalog.read_text(encoding="utf-8"))
    products = data["products"]
    by_category: dict[str, list[str]] = {}
    for product in products:
        by_category.setdefault(product["category"], []).append(product["sku"])
    planned: list[Planned] = []
    kinds = list(KINDS)
    turn = 0
    for product in products:
        sku = product["sku"]
        split = split_of(sku, sorted(by_category[product["category"]]))
        photos = [catalog.parent / p for p in product["photos"]]
        if not product.get("active", True):
            source = _source(product, photos[0])
            planned.append(
                Planned(
                    f"{sku}-inactive.jpg",
                    None,
                    "inactive",
                    split,
                    _bind(cast, source, f"{sku}-inactive"),
                    "a product the shop no longer sells",
                )
            )
            continue
        for n in range(PER_PRODUCT):
            kind = kinds[turn % len(kinds)]
            turn += 1
            source = _source(product, photos[n % len(photos)])
            file = f"{sku}-{kind}.jpg"
            planned.append(
                Planned(
                    file,
                    sku,
                    kind,
                    split,
                    _bind(TRANSFORMS[kind], source, file),
                    f"from {photos[n % len(photos)].name}",
                )
            )
    for i, (name, draw) in enumerate(OTHERS.items()):
        split = "dev" if i % 2 == 0 else "test"
        planned.append(
            Planned(
                f"other-{name}.jpg",
                None,
                "other",
                split,
                _bind_other(draw, f"other-{name}"),
                f"not in the catalog: {name}",
            )
        )
    for i, name in enumerate(OTHER_VARIANTS):
        split = "test" if i % 2 == 0 else "dev"
        base = OTHERS[name]
        file = f"other-{name}-feed.jpg"
        planned.append(
            Planned(
                file,
                None,
                "other",
                split,
                _bind_other_feed(base, file),
                f"not in the catalog: {name}, in a feed screenshot",
            )
        )
    return sorted(planned, key=lambda p: p.file)


def _source(product: dict[str, object], photo: Path) -> Source:
    with Image.open(photo) as image:
        rgb = image.convert("RGB")
    name = str(product["name"])
    return Source(str(product["sku"]), name, latin(name), float(str(product["price"])), rgb)


def _rng(name: str) -> Rng:
    return random.Random(f"{SEED}:{name}")


def _bind(
    transform: Callable[[Source, Rng], Image_], source: Source, name: str
) -> Callable[[], Image_]:
    return lambda: to_long_side(transform(source, _rng(name)).convert("RGB"))


def _bind_other(draw: Callable[[Rng], Image_], name: str) -> Callable[[], Image_]:
    def make() -> Image_:
        rng = _rng(name)
        image = draw(rng).convert("RGB")
        return to_long_side(light(image, rng, rng.uniform(0.2, 0.6)))

    return make


def _bind_other_feed(draw: Callable[[Rng], Image_], name: str) -> Callable[[], Image_]:
    def make() -> Image_:
        rng = _rng(name)
        source = Source(
            "-",
            "-",
            rng.choice(["Nova shapka", "Sumka", "Krosivky", "Shorty", "Kotyk", "Sharf"]),
            rng.randint(300, 2500),
            draw(rng).convert("RGB"),
        )
        return to_long_side(feed(source, rng))

    return make


def encode(image: Image_) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=QUALITY, optimize=True)
    return out.getvalue()


def generate(target: Path = PHOTOS, manifest: Path = MANIFEST) -> list[dict[str, object]]:
    """Draw every photo into `target` and write the manifest; returns the manifest's cases."""
    target.mkdir(parents=True, exist_ok=True)
    cases: list[dict[str, object]] = []
    for item in plan():
        content = encode(item.draw())
        (target / item.file).write_bytes(content)
        cases.append(
            {
                "file": f"photos/{item.file}",
                "expected": item.expected,
                "slice": item.kind,
                "split": item.split,
                "notes": item.note,
                "sha256": hashlib.sha256(content).hexdigest(),
            }
        )
        print(f"{item.file}: {len(content) // 1024} KB")
    header = (
        "# Vision eval: customer-style photos -> the SKU they show (expected: null = no product:\n"
        "# the bot must not name one). Drawn by evals/vision/generate.py (seed "
        f"{SEED}); do not edit by hand.\n"
    )
    body = yaml.safe_dump(
        {"suite": "vision", "cases": cases}, allow_unicode=True, sort_keys=False, width=100
    )
    manifest.write_text(header + body, encoding="utf-8")
    return cases


if __name__ == "__main__":
    generate()
