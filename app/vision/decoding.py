"""How much decoding runs at once, and how its memory is given back.

A 150 KB PNG can declare 6300×6300 pixels, some 160 MB once decoded (Pillow keeps RGB in four
bytes a pixel). Eight such photos decoded side by side took a process to a 1.5-4 GB peak, and
glibc kept much of it afterwards (its mmap threshold grows after the first big free, so later
big blocks come from arenas that are never returned). Three limits keep that bounded:

- decodes run on a small pool of their own (`off_loop`), not the event loop's default one;
- `pixel_budget` admits decodes while their declared pixels fit a budget of ~48 Mpx: phone
  photos run side by side, two giants never do;
- after a big decode the heap is trimmed (`malloc_trim`), so the peak is not kept.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DECODE_THREADS = 2
"""Decodes at once on the pool: the machine's cores are shared with the event loop anyway."""
PIXEL_BUDGET = 48_000_000
"""Pixels being decoded at once, over every thread (about 190 MB of RGB): one image at the
pixel limit (40 Mpx by default) at a time, or a dozen phone photos."""
TRIM_AFTER_PIXELS = 4_000_000
"""Decodes at least this big are followed by a heap trim (smaller ones reuse freed memory)."""

_pool = ThreadPoolExecutor(max_workers=DECODE_THREADS, thread_name_prefix="kramar-decode")


async def off_loop(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a decoding `function` on the decode pool, off the event loop."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_pool, partial(function, *args, **kwargs))


class PixelBudget:
    """A counting semaphore in pixels, shared by every thread that decodes."""

    def __init__(self, pixels: int) -> None:
        self.pixels = pixels
        self._free = pixels
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        """Block until `pixels` (at most the whole budget) are free; give them back after."""
        wanted = max(1, min(pixels, self.pixels))
        with self._changed:
            self._changed.wait_for(lambda: self._free >= wanted)
            self._free -= wanted
        try:
            yield
        finally:
            with self._changed:
                self._free += wanted
                self._changed.notify_all()
            if pixels >= TRIM_AFTER_PIXELS:
                trim_heap()


pixel_budget = PixelBudget(PIXEL_BUDGET)


def _load_malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim this way
        return None
    return trim


_malloc_trim = _load_malloc_trim()


def trim_heap() -> None:
    """Give the heap's free memory back to the system (glibc; a no-op elsewhere)."""
    if _malloc_trim is not None:
        _malloc_trim(0)
