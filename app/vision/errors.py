"""Why a customer's photo was refused: the bot turns `reason` into a polite reply, logs the text."""

from __future__ import annotations

from typing import ClassVar


class ImageRejectedError(Exception):
    """Base of every refusal: `reason` is a stable code for replies and metrics; `str()` logs."""

    reason: ClassVar[str] = "rejected"


class ImageTooLargeError(ImageRejectedError):
    """The file is bigger than the byte limit (declared by Telegram or counted after download)."""

    reason = "too_large"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"image of {size} bytes exceeds the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class UnsupportedFormatError(ImageRejectedError):
    """Not a JPEG, PNG or WebP (GIF, HEIC, PDF, SVG, text, ...), judged by the magic bytes."""

    reason = "unsupported_format"

    def __init__(self, detail: str) -> None:
        super().__init__(f"unsupported image format: {detail}")


class TooManyPixelsError(ImageRejectedError):
    """The header declares more pixels than we agree to decode (decompression-bomb guard)."""

    reason = "too_many_pixels"

    def __init__(self, detail: str) -> None:
        super().__init__(f"too many pixels: {detail}")


class CorruptImageError(ImageRejectedError):
    """The file claims a supported format but cannot be decoded (truncated, damaged, malformed)."""

    reason = "corrupt"

    def __init__(self, detail: str) -> None:
        super().__init__(f"image cannot be decoded: {detail}")
