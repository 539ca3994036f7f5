from __future__ import annotations

import time

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image, ImageDraw

from app.vision.errors import (
    CorruptImageError,
    ImageRejectedError,
    ImageTooLargeError,
    TooManyPixelsError,
    UnsupportedFormatError,
)
from app.vision.intake import check_declared_size, content_box
from tests.vision import decode, encode, png_declaring, screenshot, textured

MIB = 1024 * 1024


def mean_rgb(img: Image.Image) -> NDArray[np.float64]:
    means: NDArray[np.float64] = np.asarray(img, dtype=np.float64).reshape(-1, 3).mean(axis=0)
    return means


@pytest.fixture(name="photo_jpeg")
def fx_photo_jpeg() -> bytes:
    return encode(textured(640, 480, seed=1), quality=90)


def test_declared_size_over_the_limit_is_refused_before_download() -> None:
    with pytest.raises(ImageTooLargeError) as caught:
        check_declared_size(25 * MIB, 10 * MIB)

    assert caught.value.reason == "too_large"


@pytest.mark.parametrize("size", [None, 0, 10 * MIB])
def test_declared_size_within_the_limit_or_unknown_passes(size: int | None) -> None:
    check_declared_size(size, 10 * MIB)


def test_file_over_the_byte_limit_is_refused_before_decoding(photo_jpeg: bytes) -> None:
    # A real JPEG start followed by 25 MB of junk: decoding it would fail as corrupt.
    data = photo_jpeg[:1000] + b"\x00" * (25 * MIB)

    with pytest.raises(ImageTooLargeError) as caught:
        decode(data)

    assert caught.value.reason == "too_large"


@pytest.mark.parametrize(
    "size",
    [
        (8_000, 8_000),  # over our 40 M limit, under Pillow's own guard
        (10_000, 10_000),  # where Pillow only warns
        (20_000, 20_000),  # where Pillow raises DecompressionBombError
    ],
)
def test_decompression_bomb_is_refused_without_decoding(size: tuple[int, int]) -> None:
    bomb = png_declaring(*size)
    assert len(bomb) < 10_000

    started = time.perf_counter()
    with pytest.raises(TooManyPixelsError) as caught:
        decode(bomb)

    assert caught.value.reason == "too_many_pixels"
    assert time.perf_counter() - started < 0.5


def test_pixel_limit_is_the_configured_one(photo_jpeg: bytes) -> None:
    with pytest.raises(TooManyPixelsError):
        decode(photo_jpeg, max_pixels=640 * 480 - 1)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (encode(Image.new("RGB", (32, 32), "red"), "GIF"), "GIF"),
        (b"Hello, is the black dress still available?\n", "unknown"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "HEIC"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (encode(Image.new("RGB", (32, 32), "red"), "BMP"), "BMP"),
        (b"", "empty"),
    ],
)
def test_formats_other_than_jpeg_png_webp_are_unsupported(data: bytes, named: str) -> None:
    with pytest.raises(UnsupportedFormatError) as caught:
        decode(data)

    assert caught.value.reason == "unsupported_format"
    assert named in str(caught.value)


def test_truncated_jpeg_is_corrupt(photo_jpeg: bytes) -> None:
    with pytest.raises(CorruptImageError) as caught:
        decode(photo_jpeg[: len(photo_jpeg) // 2])

    assert caught.value.reason == "corrupt"


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4,  # JPEG magic, then junk
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 64,  # PNG magic, no header chunk
        encode(textured(64, 64, seed=2), "PNG")[:-40],  # PNG cut inside its data
        b"RIFF\x10\x00\x00\x00WEBPVP8 junk",  # WebP magic, bad payload
    ],
)
def test_damaged_files_are_corrupt_not_pillow_errors(data: bytes) -> None:
    with pytest.raises(ImageRejectedError) as caught:
        decode(data)

    assert caught.value.reason == "corrupt"


def test_exif_orientation_is_applied() -> None:
    # Stored landscape, red on the left, blue on the right; Orientation 6 means the camera was
    # turned, so the picture is shown rotated 90° clockwise: red on top, portrait.
    stored = Image.new("RGB", (400, 200))
    stored.paste(textured(200, 200, seed=3, tint=(255, 0, 0)), (0, 0))
    stored.paste(textured(200, 200, seed=4, tint=(0, 0, 255)), (200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6
    data = encode(stored, quality=95, exif=exif.tobytes())

    img = decode(data)

    assert img.size == (200, 400)
    top, bottom = mean_rgb(img.crop((0, 0, 200, 200))), mean_rgb(img.crop((0, 200, 200, 400)))
    assert top[0] > top[2] + 50
    assert bottom[2] > bottom[0] + 50


def test_screenshot_bars_and_captions_are_trimmed() -> None:
    photo = textured(300, 400, seed=5)

    img = decode(encode(screenshot(photo), quality=85))

    assert abs(img.width - 300) <= 4
    assert abs(img.height - 400) <= 4
    assert np.abs(mean_rgb(img) - mean_rgb(photo)).max() < 6


def test_solid_frame_is_trimmed_exactly() -> None:
    photo = textured(200, 150, seed=6)
    framed = Image.new("RGB", (300, 300), (20, 120, 40))
    framed.paste(photo, (60, 90))

    assert content_box(framed) == (60, 90, 260, 240)


def test_plain_image_is_never_trimmed_to_nothing() -> None:
    plain = Image.new("RGB", (300, 200), (128, 128, 128))
    ImageDraw.Draw(plain).point((150, 100), fill="black")

    img = decode(encode(plain, "PNG"))

    assert img.size == (300, 200)


def test_photo_without_borders_is_left_whole() -> None:
    photo = textured(500, 400, seed=7)

    assert content_box(photo) == (0, 0, 500, 400)


@pytest.mark.parametrize(("fmt", "size"), [("PNG", (3000, 2000)), ("JPEG", (4000, 3000))])
def test_large_image_is_downscaled_to_max_side(fmt: str, size: tuple[int, int]) -> None:
    data = encode(textured(*size, seed=8), fmt)

    img = decode(data, max_side=1024)

    assert max(img.size) == 1024
    assert abs(img.width / img.height - size[0] / size[1]) < 0.01


def test_small_image_is_not_upscaled(photo_jpeg: bytes) -> None:
    assert decode(photo_jpeg, max_side=1024).size == (640, 480)


def test_transparent_png_is_shown_on_white() -> None:
    cutout = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
    ImageDraw.Draw(cutout).ellipse((50, 50, 150, 150), fill=(200, 0, 0, 255))

    img = decode(encode(cutout, "PNG"), max_side=1024)

    assert img.mode == "RGB"
    assert img.getpixel((0, 0)) == (255, 255, 255)
    assert img.getpixel((img.width // 2, img.height // 2)) == (200, 0, 0)


@pytest.mark.parametrize(
    ("mode", "fmt"),
    [("L", "JPEG"), ("CMYK", "JPEG"), ("P", "PNG"), ("I;16", "PNG"), ("RGB", "WEBP")],
)
def test_every_supported_kind_comes_out_rgb(mode: str, fmt: str) -> None:
    source = textured(120, 90, seed=9)
    if mode == "I;16":
        grey = np.asarray(source.convert("L"), dtype=np.uint16) * 257
        converted = Image.fromarray(grey)
    else:
        converted = source.convert(mode)

    img = decode(encode(converted, fmt))

    assert img.mode == "RGB"
    assert img.size == (120, 90)
    assert np.abs(mean_rgb(img).mean() - mean_rgb(source).mean()) < 25
