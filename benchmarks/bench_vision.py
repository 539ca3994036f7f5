"""Vision speed: hashing a customer photo and finding its near-duplicate among catalog photos.

The photo is what Telegram delivers (a 1280×960 JPEG); it goes through `hash_photo`, the path the
app uses: safe decode at 256 px (JPEG DCT scaling), border trim, pHash and colour hash. The
lookup is `PhotoIndex.nearest` over 100,000 random hashes, each query a planted near-duplicate.
"""

from __future__ import annotations

import io
import random
import statistics
import time

import numpy as np
from PIL import Image, ImageDraw

from app.config import VisionSettings
from app.vision.hashing import PhotoHashes, hash_photo
from app.vision.index import IndexEntry, PhotoIndex
from app.vision.intake import decode_image
from benchmarks.table import Row

GROUP = "vision"
HASH_RUNS = 300
LOOKUP_RUNS = 1000
CATALOG_PHOTOS = 100_000


def _photo_jpeg(seed: int) -> bytes:
    """A 1280×960 photo-like JPEG: smooth colour fields and shapes, quality 85 like Telegram's."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, (42, 56, 3), dtype=np.uint8)
    img = Image.fromarray(coarse).resize((1280, 960), Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y, r = (int(v) for v in rng.integers((0, 0, 40), (1280, 960, 240)))
        draw.ellipse(
            (x - r, y - r, x + r, y + r), fill=tuple(int(c) for c in rng.integers(0, 256, 3))
        )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _percentiles(samples_ns: list[int]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(samples_ns, n=100, method="inclusive")
    return statistics.median(samples_ns) / 1e6, cuts[98] / 1e6


def _time_hashing(settings: VisionSettings) -> tuple[float, float]:
    photos = [_photo_jpeg(seed) for seed in range(8)]
    for data in photos:  # warm-up: imports, codec tables
        hash_photo(data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
    samples = []
    for i in range(HASH_RUNS):
        data = photos[i % len(photos)]
        started = time.perf_counter_ns()
        hash_photo(data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
        samples.append(time.perf_counter_ns() - started)
    return _percentiles(samples)


def _time_model_decode(settings: VisionSettings) -> float:
    data = _photo_jpeg(99)
    samples = []
    for _ in range(30):
        started = time.perf_counter_ns()
        decode_image(
            data,
            max_bytes=settings.max_bytes,
            max_pixels=settings.max_pixels,
            max_side=settings.max_side,
        )
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1e6


def _time_lookup(max_distance: int) -> tuple[float, float, int]:
    rng = random.Random(7)
    entries = [
        IndexEntry(i, f"KR-{i // 2:06d}", rng.getrandbits(64), rng.getrandbits(64))
        for i in range(CATALOG_PHOTOS)
    ]
    index = PhotoIndex.build(entries)
    queries = []
    for entry in rng.sample(entries, 200):
        phash = entry.phash
        for bit in rng.sample(range(64), 4):
            phash ^= 1 << bit
        queries.append(PhotoHashes(phash, entry.colorhash or 0))
    for query in queries[:20]:
        index.nearest(query, max_distance)
    samples = []
    found = 0
    for i in range(LOOKUP_RUNS):
        query = queries[i % len(queries)]
        started = time.perf_counter_ns()
        match = index.nearest(query, max_distance)
        samples.append(time.perf_counter_ns() - started)
        found += match is not None
    p50, p99 = _percentiles(samples)
    return p50, p99, found


def run() -> list[Row]:
    settings = VisionSettings()
    hash_p50, hash_p99 = _time_hashing(settings)
    model_p50 = _time_model_decode(settings)
    lookup_p50, lookup_p99, found = _time_lookup(settings.match_max_distance)
    hashing_note = f"hash_photo, {HASH_RUNS} runs"
    lookup_note = f"numpy XOR+popcount scan, {found}/{LOOKUP_RUNS} found"
    return [
        Row(
            GROUP,
            "pHash of a 1280×960 JPEG, p50 (decode+hash)",
            hash_p50,
            "ms",
            "<= 10 ms",
            hashing_note,
        ),
        Row(GROUP, "pHash of a 1280×960 JPEG, p99 (decode+hash)", hash_p99, "ms", "", hashing_note),
        Row(
            GROUP,
            "near-duplicate lookup among 100,000 hashes, p50",
            lookup_p50,
            "ms",
            "<= 1 ms",
            lookup_note,
        ),
        Row(
            GROUP,
            "near-duplicate lookup among 100,000 hashes, p99",
            lookup_p99,
            "ms",
            "",
            lookup_note,
        ),
        Row(
            GROUP,
            "decode a 1280×960 JPEG to 1024 px for the model, p50",
            model_p50,
            "ms",
            "",
            "only when no hash matched",
        ),
    ]


if __name__ == "__main__":
    from benchmarks.table import render

    print(render(run()))
