"""The second stage of photo identification: time per photo, index memory, rebuild time.

Queries are customer-style photos of demo products (a 12 % crop mirrored at phone size, a 15 %
crop, a chat screenshot of a cropped repost, a phone photo of a screen) that the hashes do not
know, answered by the model-free path as `identify()` runs it: hash, hash index, views, candidate
search, verification. The catalog is the 45 active demo photos plus distractors:

- 1,000 photos: distractors with real ORB statistics (500 descriptors each drawn from the demo
  photos' descriptors, at random places), their words computed by the vocabulary;
- 100,000 photos (synthetic index): distractor words drawn from the demo photos' word
  frequencies; their features, when a distractor is a candidate, come from a store standing in
  for the database (what does not fit KRAMAR_VISION_FEATURE_MEMORY_MB is read from Postgres,
  timed separately below);
- the rebuild at 10,000 photos runs `CatalogPhotoIndex` against a real Postgres holding 10,000
  photos with stored features (the demo photos' features, repeated).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import random
import statistics
import time
import tracemalloc
from collections.abc import Iterable, Iterator, Mapping

import numpy as np
from PIL import Image

from app.config import VisionSettings
from app.vision import features as stored
from app.vision.features import Features
from app.vision.hashing import hash_photo
from app.vision.index import IndexEntry, PhotoIndex
from app.vision.matcher import (
    WORD_KEYPOINTS,
    CatalogPhoto,
    FeatureIndex,
    FeatureStore,
    settle,
    verify_candidates,
)
from app.vision.prepare import catalog_features, prepare
from app.vision.vocabulary import encode_words, load_vocabulary
from benchmarks.table import Row
from scripts.photo_variants import photo_of_screen, screenshot_dark_chat
from tests.fixtures_demo import demo_items
from tests.vision.customer import cropped, jpeg, mirrored, upscaled

GROUP = "vision 2nd stage"
LIMITS = {"max_bytes": 10_000_000, "max_pixels": 40_000_000}
SMALL, LARGE, REBUILD = 1_000, 100_000, 10_000


def _demo() -> tuple[list[CatalogPhoto], list[IndexEntry], list[tuple[str, Image.Image]]]:
    vocabulary = load_vocabulary()
    photos: list[CatalogPhoto] = []
    hashes: list[IndexEntry] = []
    images: list[tuple[str, Image.Image]] = []
    for item in demo_items():
        if not item.product.active:
            continue
        for photo in item.photos:
            assert photo.content is not None
            photo_id = len(photos) + 1
            found = catalog_features(photo.content, **LIMITS)
            words = vocabulary.words(found.descriptors)
            photos.append(CatalogPhoto(photo_id, item.product.sku, words, found))
            h = hash_photo(photo.content, **LIMITS)
            hashes.append(IndexEntry(photo_id, item.product.sku, h.phash, h.colorhash))
            images.append((item.product.sku, Image.open(_bytes_io(photo.content)).convert("RGB")))
    return photos, hashes, images


def _bytes_io(data: bytes):
    import io

    return io.BytesIO(data)


def _queries(images: list[tuple[str, Image.Image]]) -> list[tuple[str, bytes]]:
    rng = random.Random(17)
    queries = []
    for sku, img in images:
        queries.append((sku, jpeg(upscaled(mirrored(cropped(img, 0.12))))))
        queries.append((sku, jpeg(upscaled(cropped(img, 0.15)))))
        queries.append((sku, screenshot_dark_chat(cropped(img, 0.1), rng)))
        queries.append((sku, photo_of_screen(img, rng)))
    return queries


def _distractor_features(pool: np.ndarray, rng: np.random.Generator) -> Features:
    descriptors = pool[rng.integers(0, pool.shape[0], stored.MAX_KEYPOINTS)]
    points = (rng.random((stored.MAX_KEYPOINTS, 2)) * (360, 480)).astype(np.float32)
    colours = rng.integers(96, 160, (stored.MAX_KEYPOINTS, 2), dtype=np.uint8)
    return Features(points, np.ascontiguousarray(descriptors), (360, 480), colours)


class _LazyFeatures(Mapping[int, Features]):
    """Features of the demo photos, and of distractors drawn when asked (the database)."""

    def __init__(self, demo: dict[int, Features], pool: np.ndarray) -> None:
        self._demo = demo
        self._pool = pool

    def __getitem__(self, photo_id: int) -> Features:
        if photo_id in self._demo:
            return self._demo[photo_id]
        return _distractor_features(self._pool, np.random.default_rng(photo_id))

    def __iter__(self):
        return iter(self._demo)

    def __len__(self) -> int:
        return len(self._demo)


def _answer(
    data: bytes, hashes: PhotoIndex, index: FeatureIndex, found: Mapping[int, Features]
) -> str | None:
    settings = VisionSettings()
    h = hash_photo(data, **LIMITS)
    match = hashes.nearest(
        h, settings.match_max_distance, max_color_distance=settings.match_max_color_distance
    )
    if match is not None and match.confidence >= 0.8:
        return match.sku
    views = prepare(data, **LIMITS)
    candidates = index.candidates(views)
    wanted = {c.photo_id: found[c.photo_id] for c in candidates}
    verdict = verify_candidates(views, candidates, wanted, index.sku_of)
    settled = settle(match.sku if match else None, match.confidence if match else 0.0, verdict)
    return settled.sku if settled.confidence >= 0.8 else None


def _timed(
    queries: list[tuple[str, bytes]],
    hashes: PhotoIndex,
    index: FeatureIndex,
    found: Mapping[int, Features],
) -> tuple[float, float, float]:
    """p50 and p99 in ms, and the share answered with the right card."""
    for _, data in queries[:8]:
        _answer(data, hashes, index, found)
    samples, right = [], 0
    for sku, data in queries:
        started = time.perf_counter()
        got = _answer(data, hashes, index, found)
        samples.append(time.perf_counter() - started)
        right += got == sku
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples) * 1e3, cuts[98] * 1e3, right / len(queries)


def _index(
    demo: list[CatalogPhoto], batches: Iterable[list[CatalogPhoto]], budget: int
) -> tuple[FeatureIndex, int]:
    """The index and the bytes it holds (measured with tracemalloc: arrays and dicts)."""
    gc.collect()
    tracemalloc.start()
    index = FeatureIndex(load_vocabulary(), FeatureStore(budget))
    index.add(demo)
    for batch in batches:
        index.add(batch)
    index.words.prepare()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return index, held


async def _rebuild(demo: list[CatalogPhoto]) -> tuple[float, float, float, int]:
    """Start-up build and a refresh after 100 changed photos, at REBUILD photos in Postgres."""
    from sqlalchemy import func, insert, update

    from app.catalog.models import Photo, Product
    from app.catalog.version import CatalogVersion
    from app.vision.pipeline import CatalogPhotoIndex, features_version
    from tests.servers.postgres import migrated_database

    blobs = [(stored.encode(p.features), encode_words(p.words)) for p in demo if p.features]
    version_tag = features_version()
    async with migrated_database() as (engine, session_factory):
        per_product = 10
        async with session_factory() as session, session.begin():
            products = [
                {
                    "sku": f"BX-{n:05d}",
                    "name": f"Товар {n}",
                    "description": "",
                    "category": "костюми",
                    "price": 100,
                    "visual_features": "",
                    "recognition_tips": "",
                    "tags": [],
                    "sizes": ["M"],
                    "colours": ["чорний"],
                    "active": True,
                }
                for n in range(REBUILD // per_product)
            ]
            ids = (await session.execute(insert(Product).returning(Product.id), products)).all()
            rows = []
            for i in range(REBUILD):
                features, words = blobs[i % len(blobs)]
                rows.append(
                    {
                        "product_id": ids[i // per_product][0],
                        "position": i % per_product,
                        "source": f"https://example.com/{i}.jpg",
                        "sha256": hashlib.sha256(str(i).encode()).hexdigest(),
                        "phash": i,
                        "colorhash": i,
                        "features": features,
                        "feature_words": words,
                        "features_version": version_tag,
                    }
                )
            for start in range(0, len(rows), 1000):
                await session.execute(insert(Photo), rows[start : start + 1000])
        catalog = CatalogVersion(engine)
        index = CatalogPhotoIndex(
            session_factory, catalog, feature_memory_bytes=VisionSettings().feature_memory_mb << 20
        )
        started = time.perf_counter()
        await index.refresh()
        startup = time.perf_counter() - started
        _, built = await index.current()
        resident = built.store.nbytes
        async with session_factory() as session, session.begin():
            await session.execute(
                update(Photo)
                .where(Photo.id <= 100)
                .values(sha256=func.md5(Photo.sha256))  # 100 photos replaced
            )
        started = time.perf_counter()
        await index.refresh()
        incremental = time.perf_counter() - started
        # Features of 10 photos that are not in memory, read as a candidate needs them.
        _, current = await index.current()
        missing = [i for i in range(1, REBUILD + 1) if current.store.get(i) is None][:10]
        samples = []
        for _ in range(20):
            current.store.discard(missing)
            started = time.perf_counter()
            await index.features_of(current, missing)
            samples.append(time.perf_counter() - started)
        await index.close()
    return startup, incremental, statistics.median(samples) * 1e3, resident


def run() -> list[Row]:
    demo, demo_hashes, images = _demo()
    queries = _queries(images)
    pool = np.concatenate([p.features.descriptors for p in demo if p.features is not None])
    rng = np.random.default_rng(7)
    vocabulary = load_vocabulary()
    demo_features = {p.photo_id: p.features for p in demo if p.features is not None}

    small_extra = []
    for i in range(SMALL - len(demo)):
        found = _distractor_features(pool, rng)
        small_extra.append(
            CatalogPhoto(10_000 + i, f"XX-{i}", vocabulary.words(found.descriptors), found)
        )
    small, _ = _index(demo, [small_extra], 160 << 20)
    small_hashes = PhotoIndex.build(
        demo_hashes
        + [IndexEntry(p.photo_id, p.sku, random.getrandbits(64), 0) for p in small_extra]
    )
    found_small = {**demo_features, **{p.photo_id: p.features for p in small_extra if p.features}}
    p50_small, p99_small, right_small = _timed(queries, small_hashes, small, found_small)

    frequencies = np.bincount(np.concatenate([p.words for p in demo]), minlength=vocabulary.size)
    weights = (frequencies + 0.05) / (frequencies + 0.05).sum()
    extra_ids = range(100_000, 100_000 + LARGE - len(demo))

    def batches() -> Iterator[list[CatalogPhoto]]:
        for start in range(0, len(extra_ids), 5000):
            ids = extra_ids[start : start + 5000]
            words = rng.choice(vocabulary.size, (len(ids), WORD_KEYPOINTS), p=weights)
            yield [
                CatalogPhoto(i, f"XX-{i}", row.astype(np.int32))
                for i, row in zip(ids, words, strict=True)
            ]

    budget = VisionSettings().feature_memory_mb << 20
    large, held = _index(demo, batches(), budget)
    # What the store holds at the budget in production (distractors' features): full.
    resident = min(budget, LARGE * _decoded_bytes())
    large_hashes = PhotoIndex.build(
        demo_hashes + [IndexEntry(i, f"XX-{i}", random.getrandbits(64), 0) for i in extra_ids]
    )
    p50_large, p99_large, right_large = _timed(
        queries, large_hashes, large, _LazyFeatures(demo_features, pool)
    )
    startup, incremental, fetch, rebuilt_resident = asyncio.run(_rebuild(demo))
    note = f"{len(queries)} customer-style photos of demo products"
    return [
        Row(
            GROUP, f"photo, second stage, {SMALL:,} photos, p50", p50_small, "ms", "<= 50 ms", note
        ),
        Row(GROUP, f"photo, second stage, {SMALL:,} photos, p99", p99_small, "ms", "<= 150 ms"),
        Row(GROUP, f"right card, {SMALL:,} photos", 100 * right_small, "%", "", note),
        Row(
            GROUP,
            f"photo, second stage, {LARGE:,} photos, p50",
            p50_large,
            "ms",
            "<= 100 ms",
            "synthetic index",
        ),
        Row(GROUP, f"photo, second stage, {LARGE:,} photos, p99", p99_large, "ms"),
        Row(
            GROUP,
            f"photo, {LARGE:,} photos, p50, every candidate read from Postgres",
            p50_large + fetch,
            "ms",
            "<= 100 ms",
            "upper bound: none of them in memory",
        ),
        Row(GROUP, f"right card, {LARGE:,} photos", 100 * right_large, "%"),
        Row(
            GROUP,
            f"index memory, {LARGE:,} photos",
            (held + resident) / 2**20,
            "MB",
            "<= 300 MB",
            f"words {held / 2**20:.0f} MB + features at the budget {resident / 2**20:.0f} MB",
        ),
        Row(
            GROUP,
            f"start-up build, {REBUILD:,} photos in Postgres",
            startup,
            "s",
            "<= 10 s",
            f"{rebuilt_resident / 2**20:.0f} MB of features resident",
        ),
        Row(
            GROUP,
            f"refresh after 100 of {REBUILD:,} photos changed",
            incremental,
            "s",
            "<= 10 s",
            "incremental: only the changed photos are read",
        ),
        Row(
            GROUP,
            "features of 10 candidates read from Postgres, p50",
            fetch,
            "ms",
            "",
            "when they are not in memory",
        ),
    ]


def _decoded_bytes() -> int:
    return stored.MAX_KEYPOINTS * (8 + stored.DESCRIPTOR_BYTES + 2)


if __name__ == "__main__":
    from benchmarks.table import render

    print(render(run()))
