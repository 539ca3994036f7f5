"""Customer-style copies of demo photos for the second stage's tests: crops, mirror images,
screenshots; made with Pillow so each test shows what it changes."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from tests.fixtures_demo import demo_photo


def demo_image(name: str) -> Image.Image:
    return Image.open(io.BytesIO(demo_photo(name))).convert("RGB")


def jpeg(img: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def cropped(img: Image.Image, share: float) -> Image.Image:
    """`share` of each side cut, more on the left and top (a thumb and a status bar)."""
    cut_x, cut_y = round(img.width * share), round(img.height * share)
    return img.crop((2 * cut_x // 3, cut_y // 2, img.width - cut_x // 3, img.height - cut_y // 2))


def mirrored(img: Image.Image) -> Image.Image:
    return img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


def upscaled(img: Image.Image, factor: float = 2.5) -> Image.Image:
    return img.resize((round(img.width * factor), round(img.height * factor)))


def customer_photo(name: str) -> bytes:
    """The usual hard case: a 12 % crop of the shop photo, mirrored (a selfie), resent at
    phone size. Neither the pHash nor the colour hash of the shop photo finds it."""
    return jpeg(upscaled(mirrored(cropped(demo_image(name), 0.12))))


def chat_screenshot(img: Image.Image) -> bytes:
    """A dark chat screenshot: header, the photo small in a bubble, a message bar."""
    shot = Image.new("RGB", (1080, 2340), "#0e1621")
    draw = ImageDraw.Draw(shot)
    draw.rectangle((0, 0, 1080, 240), fill="#17212b")
    draw.text((240, 135), "Kramar Shop", fill="#f5f5f5")
    photo = img.resize((600, round(img.height * 600 / img.width)))
    draw.rounded_rectangle((392, 492, 1048, 508 + photo.height + 60), 28, fill="#2b5278")
    shot.paste(photo, (420, 520))
    draw.rectangle((0, 2190, 1080, 2340), fill="#17212b")
    return jpeg(shot)
