"""Memory of huge customer photos: eight 6300×6300 PNGs (~140 KB each) identified at once.

A small PNG can declare nearly the pixel limit; decoding it takes some 160 MB of pixels (Pillow
keeps RGB in four bytes a pixel). Measured in a fresh process (`measure()` runs this module
with `--child`), through `PhotoIdentifier.identify`, the path every customer photo takes, with
an in-process cache, an empty hash index and one catalog photo in the feature index, so the
second stage decodes each photo again (its views) as it does in the app. RSS is sampled every
2 ms from /proc.

Figures: `baseline` (after imports and one small warm-up photo), `peak`, and `after` (all done,
two seconds later). Goal of issue 11: peak - baseline <= 400 MB, after - baseline <= 100 MB.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any, cast

PHOTOS = 8
SIDE = 6300
ROOT = Path(__file__).resolve().parents[1]


def huge_png() -> bytes:
    """A 6300×6300 PNG of a garment on a plain backdrop: ~140 KB, just under 40 Mpx."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (SIDE, SIDE), (236, 232, 226))
    draw = ImageDraw.Draw(img)
    draw.rectangle((1500, 1200, 4800, 5600), fill=(40, 60, 90))
    draw.ellipse((2500, 500, 3800, 1700), fill=(200, 170, 150))
    for i in range(30):
        draw.line((1500, 1300 + i * 140, 4800, 1300 + i * 140), fill=(30, 45, 70), width=18)
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()


def tagged(png: bytes, tag: int) -> bytes:
    """`png` with a tEXt chunk after IHDR: other bytes (so no cache knows it), same pixels."""
    body = b"tEXt" + b"Comment\x00" + str(tag).encode()
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    ihdr_end = 8 + 4 + 4 + 13 + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _identify_all(photos: list[bytes]) -> list[Any]:
    from app.cache.memory import MemoryBackend
    from app.cache.vision import VisionCache
    from app.config import VisionSettings
    from app.vision.features import Features
    from app.vision.index import PhotoIndex
    from app.vision.matcher import CatalogPhoto, FeatureIndex, FeatureStore
    from app.vision.pipeline import PhotoIdentifier
    from app.vision.prepare import catalog_features
    from app.vision.vocabulary import load_vocabulary

    vocabulary = load_vocabulary()
    found = catalog_features(_small_png(), max_bytes=10_000_000, max_pixels=40_000_000)
    features = FeatureIndex(vocabulary, FeatureStore(1 << 20))
    features.add([CatalogPhoto(1, "KR-X", vocabulary.words(found.descriptors), found)])

    class OnePhotoIndex:
        async def current(self) -> tuple[PhotoIndex, FeatureIndex]:
            return PhotoIndex(), features

        async def features_of(self, _index: FeatureIndex, ids: list[int]) -> dict[int, Features]:
            return {i: found for i in ids}

    class Version:
        async def current(self) -> int:
            return 1

    async def no_card(_sku: str) -> None:
        return None

    identifier = PhotoIdentifier(
        cache=VisionCache(MemoryBackend(), 60, 6),
        index=cast("Any", OnePhotoIndex()),
        cards=no_card,
        version=cast("Any", Version()),
        settings=VisionSettings(),
    )
    return await asyncio.gather(*(identifier.identify(p) for p in photos))


def child() -> None:
    png = huge_png()
    photos = [tagged(png, n) for n in range(PHOTOS)]
    del png
    small = tagged(_small_png(), 99)
    asyncio.run(_identify_all([small]))  # imports, thread pools and first allocations
    gc.collect()
    time.sleep(0.5)
    baseline = rss_bytes()
    peak = baseline
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, rss_bytes())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    results = asyncio.run(_identify_all(photos))
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    gc.collect()
    time.sleep(2.0)
    print(
        json.dumps(
            {
                "baseline": baseline,
                "peak": peak,
                "after": rss_bytes(),
                "seconds": seconds,
                "sources": sorted({r.source for r in results}),
            }
        )
    )


def _small_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (640, 640), (120, 80, 60)).save(out, "PNG")
    return out.getvalue()


def measure() -> dict[str, Any]:
    """Run the child in a fresh interpreter; its figures in bytes (and seconds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.decode_memory", "--child"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


if __name__ == "__main__":
    if "--child" in sys.argv:
        child()
    else:
        mb = 1024 * 1024
        result = measure()
        base = result["baseline"]
        print(
            f"baseline {base / mb:.0f} MB, peak +{(result['peak'] - base) / mb:.0f} MB,"
            f" after {(result['after'] - base) / mb:+.0f} MB, {result['seconds']:.1f} s"
        )
