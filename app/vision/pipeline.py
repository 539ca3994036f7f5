"""Identification of a customer photo: vision cache → hash index → local features → model.

The hashes answer repeats and near-duplicates of shop photos in a millisecond. What they cannot
tell (a crop, a mirror image, a screenshot, the item on another background) goes to the second
stage: local features of the photo's views, a candidate search over visual words, geometric
verification of the best candidates (`app/vision/matcher.py`). The model step (issue 4) runs
only when neither gave a card. Every answer that names a product is checked against the
product's current card: a deactivated or changed product is never answered from an old
conclusion.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Literal, TypeVar

from sqlalchemy import select

from app.cache.vision import VisionEntry
from app.catalog.importer import PhotoAnalysis
from app.catalog.models import Photo, PhotoIndexState, Product
from app.observability.metrics import (
    VISION_CONFIDENCE,
    VISION_INDEX_BYTES,
    VISION_INDEX_PHOTOS,
    VISION_INDEX_REFRESH,
    VISION_LATENCY,
    VISION_REQUESTS,
)
from app.observability.tracing import annotate, traced
from app.vision import features as stored_features
from app.vision.decoding import off_loop
from app.vision.hashing import hash_photo, to_signed64, to_unsigned64
from app.vision.index import IndexEntry, PhotoIndex
from app.vision.matcher import (
    CARD_CONFIDENCE,
    Candidate,
    CatalogPhoto,
    FeatureIndex,
    FeatureStore,
    FeatureVerdict,
    settle,
    verify_candidates,
)
from app.vision.prepare import catalog_features, prepare
from app.vision.vocabulary import decode_words, encode_words, load_vocabulary

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.cache.vision import VisionCache
    from app.catalog.schemas import Product as Card
    from app.catalog.version import CatalogVersion
    from app.config import VisionSettings
    from app.vision.features import Features
    from app.vision.hashing import PhotoHashes
    from app.vision.model import ModelVision
    from app.vision.prepare import View

log = logging.getLogger(__name__)

Source = Literal["cache", "photo_index", "features", "model", "none"]
_T = TypeVar("_T")
# Rows read per query while loading the index: bounds the memory of one result set.
_LOAD_BATCH = 2000


def features_version() -> str:
    """What the stored features of a photo must have been computed with to be used."""
    return f"orb{stored_features.FORMAT_VERSION}-{load_vocabulary().version}"


@dataclass(frozen=True)
class Identification:
    """Which product a photo shows, how sure we are, who answered, and where the time went."""

    sku: str | None
    confidence: float
    source: Source
    distance: int | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    question: str | None = None
    """What the model suggests asking the customer when it could not tell."""
    candidates: list[str] = field(default_factory=list)
    """Other products it may be (for "is it one of these?"): the second stage's runners-up or
    the RAG top-k the model chose among."""


@dataclass(frozen=True, slots=True)
class _Stamp:
    """What a photo was indexed as; a different stamp means it changed."""

    sku: str
    sha256: str | None
    features_version: str | None


REFRESH_WAIT_SECONDS = 2.0
"""How long a photo waits for a refresh under way before the previous index answers it."""


class CatalogPhotoIndex:
    """The hash index and the feature index of active products' photos, kept current.

    Keyed on `photo_index_state.version`, which triggers move only when photos, or the SKU or
    `active` of their products, change: a stock change or a reservation moves the catalog
    version but does not touch this index. When the catalog version moves, one small query
    reads the photo version; when that moved, a refresh runs in the background; a photo waits
    for it up to `REFRESH_WAIT_SECONDS`, then the previous index serves (every match is checked
    against the product card anyway). A refresh
    loads only photos that are new or changed and drops the ones gone. The first build (at
    start-up, see `refresh`) is waited for.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        version: CatalogVersion,
        *,
        feature_memory_bytes: int = 96 << 20,
        refresh_wait_seconds: float = REFRESH_WAIT_SECONDS,
    ) -> None:
        self._session_factory = session_factory
        self._version = version
        self.refresh_wait_seconds = refresh_wait_seconds
        """How long a photo waits for a refresh under way (0: never)."""
        self._hashes = PhotoIndex()
        self._features = FeatureIndex(load_vocabulary(), FeatureStore(feature_memory_bytes))
        self._stamps: dict[int, _Stamp] = {}
        self._photo_version: int | None = None  # None: never built
        self._seen_catalog: int | None = None
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.refreshes = 0
        """How many refreshes ran (for tests and logs)."""
        self.last_loaded = 0
        """Photos whose features the last refresh read from the database."""

    async def get(self) -> PhotoIndex:
        """The hash index (see `current`)."""
        return (await self.current())[0]

    async def current(self) -> tuple[PhotoIndex, FeatureIndex]:
        """The newest complete generation of both indexes."""
        catalog = await self._version.current()
        if self._photo_version is None:
            await self._first_build()
        elif catalog != self._seen_catalog:
            self._seen_catalog = catalog
            if await self._read_photo_version() != self._photo_version:
                self._schedule()
        task = self._task
        if task is not None and not task.done() and self._photo_version is not None:
            # A small change (the photo a manager just uploaded) is answered from the new index;
            # a long rebuild is not waited for: the previous generation serves meanwhile.
            await asyncio.wait({task}, timeout=self.refresh_wait_seconds)
        return self._hashes, self._features

    def start(self) -> None:
        """Build the index in the background (at start-up), so the first photo finds it ready."""
        if self._task is None:
            self._task = asyncio.create_task(self._first_build(), name="photo-index-build")

    async def _first_build(self) -> None:
        async with self._lock:
            if self._photo_version is None:
                await self._refresh()

    async def refresh(self) -> None:
        """Bring the index up to date now (at start-up; tests); waits for a running refresh."""
        async with self._lock:
            await self._refresh()

    async def wait(self) -> None:
        """Wait for a background refresh, if one runs."""
        task = self._task
        if task is not None:
            await asyncio.shield(task)

    async def close(self) -> None:
        """Stop a background refresh."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _schedule(self) -> None:
        if self._task is not None and not self._task.done():
            return  # the running refresh reads the photo version again when it finishes
        self._task = asyncio.create_task(self._background(), name="photo-index-refresh")

    async def _background(self) -> None:
        try:
            async with self._lock:
                await self._refresh()
                # Photos that changed while this refresh read the database: once more.
                while await self._read_photo_version() != self._photo_version:
                    await self._refresh()
        except asyncio.CancelledError:
            raise
        except Exception:  # the previous index keeps serving; the next catalog change retries
            self._seen_catalog = None
            log.exception("photo index refresh failed; serving the previous index")

    async def _read_photo_version(self) -> int:
        async with self._session_factory() as session:
            return int(await session.scalar(select(PhotoIndexState.version)) or 0)

    async def _refresh(self) -> None:
        started = time.perf_counter()
        seen_catalog = await self._version.current()
        photo_version = await self._read_photo_version()
        wanted = features_version()
        async with self._session_factory() as session:
            rows = (
                await session.execute(
                    select(
                        Photo.id,
                        Product.sku,
                        Photo.sha256,
                        Photo.features_version,
                        Photo.phash,
                        Photo.colorhash,
                    )
                    .join(Product)
                    .where(Product.active.is_(True), Photo.phash.is_not(None))
                )
            ).all()
        hash_entries = [
            IndexEntry(
                photo_id=photo_id,
                sku=sku,
                phash=to_unsigned64(phash),
                colorhash=None if color is None else to_unsigned64(color),
            )
            for photo_id, sku, _, _, phash, color in rows
            if phash is not None
        ]
        stamps = {
            photo_id: _Stamp(sku, sha256, version if version == wanted else None)
            for photo_id, sku, sha256, version, _, _ in rows
        }
        gone = [i for i, stamp in self._stamps.items() if stamps.get(i) != stamp]
        fresh = [
            i
            for i, stamp in stamps.items()
            if stamp.features_version is not None and self._stamps.get(i) != stamp
        ]
        generation = self._features.copy()
        hashes = await asyncio.to_thread(PhotoIndex.build, hash_entries)
        await asyncio.to_thread(generation.remove, gone)
        loaded = 0
        for start in range(0, len(fresh), _LOAD_BATCH):
            batch = fresh[start : start + _LOAD_BATCH]
            loaded += await self._load(generation, batch, {i: stamps[i].sku for i in batch})
        await asyncio.to_thread(generation.words.prepare)  # before any thread searches it
        self._hashes, self._features, self._stamps = hashes, generation, stamps
        self._photo_version, self._seen_catalog = photo_version, seen_catalog
        self.refreshes += 1
        self.last_loaded = loaded
        elapsed = time.perf_counter() - started
        VISION_INDEX_REFRESH.observe(elapsed)
        VISION_INDEX_PHOTOS.set(len(generation))
        VISION_INDEX_BYTES.set(generation.nbytes)
        without = sum(1 for stamp in stamps.values() if stamp.features_version is None)
        log.info(
            "photo index: %d photos (%d with features, %d loaded, %d dropped, %d without "
            "current features: run `kramar catalog import`), %.1f MB, %.0f ms",
            len(hashes),
            len(generation),
            loaded,
            len(gone),
            without,
            generation.nbytes / 1e6,
            elapsed * 1e3,
        )

    async def _load(self, generation: FeatureIndex, ids: list[int], skus: dict[int, str]) -> int:
        """Add these photos' words to `generation`, with their features while memory allows."""
        store = generation.store
        with_features = store.has_room(len(ids) * _typical_bytes())
        rows: list[tuple[int, bytes | None, bytes | None]] = []
        async with self._session_factory() as session:
            if with_features:
                query = select(Photo.id, Photo.feature_words, Photo.features)
                result = await session.execute(query.where(Photo.id.in_(ids)))
                rows = [(i, words, data) for i, words, data in result]
            else:
                result_words = await session.execute(
                    select(Photo.id, Photo.feature_words).where(Photo.id.in_(ids))
                )
                rows = [(i, words, None) for i, words in result_words]

        def build() -> list[CatalogPhoto]:
            photos = []
            for photo_id, words, data in rows:
                if words is not None:
                    found = _decoded(data)
                    photos.append(
                        CatalogPhoto(photo_id, skus[photo_id], decode_words(words), found)
                    )
            generation.add(photos)
            return photos

        return len(await asyncio.to_thread(build))

    async def features_of(
        self, index: FeatureIndex, photo_ids: Sequence[int]
    ) -> dict[int, Features]:
        """Features of these photos: from memory, the rest read from the database (and kept)."""
        found: dict[int, Features] = {}
        missing = []
        for photo_id in photo_ids:
            resident = index.store.get(photo_id)
            if resident is None:
                missing.append(photo_id)
            else:
                found[photo_id] = resident
        if missing:
            async with self._session_factory() as session:
                rows = await session.execute(
                    select(Photo.id, Photo.features).where(Photo.id.in_(missing))
                )
                for photo_id, data in rows:
                    decoded = _decoded(data)
                    if decoded is not None:
                        found[photo_id] = decoded
                        index.store.put(photo_id, decoded)
        return found


def _typical_bytes() -> int:
    """Memory of one photo's decoded features (float32 points, descriptors, colours)."""
    return stored_features.MAX_KEYPOINTS * (8 + stored_features.DESCRIPTOR_BYTES + 2)


def _decoded(data: bytes | None) -> Features | None:
    if data is None:
        return None
    try:
        return stored_features.decode(data)
    except ValueError as error:
        log.warning("stored photo features cannot be read (%s); skipping them", error)
        return None


class CatalogPhotoHasher:
    """The importer's photo analysis, by the customers' path: the perceptual hashes (signed
    int64) and the local features with their visual words."""

    def __init__(self, settings: VisionSettings) -> None:
        self._settings = settings
        self.features_version: str | None = features_version() if settings.features else None

    def __call__(self, data: bytes) -> PhotoAnalysis:
        limits = {"max_bytes": self._settings.max_bytes, "max_pixels": self._settings.max_pixels}
        hashes = hash_photo(data, **limits)
        if self.features_version is None:
            return PhotoAnalysis(to_signed64(hashes.phash), to_signed64(hashes.colorhash))
        found = catalog_features(data, **limits)
        words = load_vocabulary().words(found.descriptors)
        return PhotoAnalysis(
            to_signed64(hashes.phash),
            to_signed64(hashes.colorhash),
            stored_features.encode(found),
            encode_words(words),
            self.features_version,
        )


def catalog_photo_hasher(settings: VisionSettings) -> CatalogPhotoHasher:
    """The analysis every path that stores a catalog photo passes to `import_catalog`."""
    return CatalogPhotoHasher(settings)


class PhotoIdentifier:
    """`identify(photo_bytes)`: cache, hash index, second stage, model, or "not found"."""

    def __init__(
        self,
        *,
        cache: VisionCache,
        index: CatalogPhotoIndex,
        cards: Callable[[str], Awaitable[Card | None]],
        version: CatalogVersion,
        settings: VisionSettings,
        model: ModelVision | None = None,
    ) -> None:
        self._model = model
        self._cache = cache
        self._index = index
        self._cards = cards
        self._version = version
        self._settings = settings
        # Feature work runs on a few threads of its own: a burst of photos queues there instead
        # of taking every core (OpenCV and numpy release the GIL, so threads do run in parallel).
        self._workers = ThreadPoolExecutor(
            max_workers=settings.feature_workers, thread_name_prefix="vision"
        )

    def close(self) -> None:
        """Let the worker threads go (queued work still finishes)."""
        self._workers.shutdown(wait=False)

    async def _in_worker(self, function: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._workers, function)

    @traced("vision.identify")
    async def identify(self, photo: bytes, caption: str | None = None) -> Identification:
        """Raises `app.vision.errors.ImageRejectedError` for photos that must not be decoded."""
        started = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(name: str, since: float) -> float:
            now = time.perf_counter()
            timings[name] = (now - since) * 1e3
            return now

        sha256 = hashlib.sha256(photo).hexdigest()
        hashes = await self._cache.hashes_of_bytes(sha256)
        if hashes is None:
            # Decoding is CPU work: off the event loop, on the bounded decode pool.
            hashes = await off_loop(
                hash_photo,
                photo,
                max_bytes=self._settings.max_bytes,
                max_pixels=self._settings.max_pixels,
            )
        mark = lap("hash", started)

        entry = await self._cache.get(hashes)
        if entry is not None:
            card = await self._cards(entry.sku)
            if card is not None and card.active and card.updated_at == entry.product_updated_at:
                lap("cache", mark)
                return self._done(entry.sku, entry.confidence, "cache", None, timings, started)
            await self._cache.forget(hashes)  # the product changed or is gone: decide afresh
        mark = lap("cache", mark)

        hash_index, feature_index = await self._index.current()
        match = hash_index.nearest(
            hashes,
            self._settings.match_max_distance,
            max_color_distance=self._settings.match_max_color_distance,
        )
        mark = lap("index", mark)
        hash_sku = None
        hash_confidence = 0.0
        if match is not None and await self._active(match.sku):
            hash_sku, hash_confidence = match.sku, match.confidence
            if match.confidence >= CARD_CONFIDENCE or not self._settings.features:
                card = await self._cards(match.sku)
                assert card is not None
                await self._remember(
                    hashes, sha256, match.sku, match.confidence, card, "photo_index"
                )
                lap("store", mark)
                return self._done(
                    match.sku, match.confidence, "photo_index", match.distance, timings, started
                )

        verdict = None
        if self._settings.features and len(feature_index):
            verdict = await self._second_stage(photo, feature_index)
            mark = lap("features", mark)
        settled = settle(hash_sku, hash_confidence, verdict)
        if settled.sku is not None and not await self._active(settled.sku):
            # Found in an index generation older than the product's deactivation.
            settled = settle(hash_sku, hash_confidence, None) if hash_sku else settle(None, 0, None)
        if settled.sku is not None and settled.confidence >= CARD_CONFIDENCE:
            card = await self._cards(settled.sku)
            if card is not None and card.active:
                await self._remember(
                    hashes, sha256, settled.sku, settled.confidence, card, "features"
                )
                lap("store", mark)
                return self._done(
                    settled.sku, settled.confidence, "features", None, timings, started
                )

        if self._model is not None and self._model.enabled:
            model_verdict = await self._model.identify(photo, caption)
            mark = lap("model", mark)
            card = await self._cards(model_verdict.sku) if model_verdict.sku else None
            if model_verdict.sku and card is not None and card.active:
                await self._remember(
                    hashes, sha256, model_verdict.sku, model_verdict.confidence, card, "model"
                )
                lap("store", mark)
                return self._done(
                    model_verdict.sku,
                    model_verdict.confidence,
                    "model",
                    None,
                    timings,
                    started,
                    candidates=model_verdict.candidates,
                )
            if settled.sku is None:
                return self._done(
                    None,
                    0.0,
                    "none",
                    None,
                    timings,
                    started,
                    question=model_verdict.question,
                    candidates=model_verdict.candidates,
                )
        if settled.sku is not None:
            # Weak or contested: "is it one of these?" with the candidates, never cached.
            source: Source = "features" if settled.source == "features" else "photo_index"
            return self._done(
                settled.sku,
                settled.confidence,
                source,
                match.distance if match is not None and source == "photo_index" else None,
                timings,
                started,
                candidates=[s for s in settled.candidates if await self._active(s)],
            )
        return self._done(None, 0.0, "none", None, timings, started)

    async def _active(self, sku: str) -> bool:
        card = await self._cards(sku)
        return card is not None and card.active

    async def _second_stage(self, photo: bytes, index: FeatureIndex) -> FeatureVerdict:
        """Views of the photo, candidates from the word index, then geometric verification.

        CPU work runs on the vision threads; features of candidates that are not in memory are
        read from the database in between.
        """
        settings = self._settings

        def search() -> tuple[list[View], list[Candidate]]:
            views = prepare(photo, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
            return views, index.candidates(views)

        views, candidates = await self._in_worker(search)
        ids = [c.photo_id for c in candidates]
        found = await self._index.features_of(index, ids)
        verdict = await self._in_worker(
            partial(verify_candidates, views, candidates, found, index.sku_of)
        )
        annotate(
            {
                "vision.views": len(views),
                "vision.candidates": len(ids),
                "vision.inliers": verdict.inliers,
                "vision.mirrored": verdict.mirrored,
            }
        )
        return verdict

    async def _remember(
        self,
        hashes: PhotoHashes,
        sha256: str,
        sku: str,
        confidence: float,
        card: Card,
        source: Literal["photo_index", "features", "model"],
    ) -> None:
        entry = VisionEntry(
            sku=sku,
            confidence=confidence,
            source=source,
            catalog_version=await self._version.current(),
            product_updated_at=card.updated_at,
        )
        await self._cache.put(hashes, entry, sha256=sha256)

    @staticmethod
    def _done(
        sku: str | None,
        confidence: float,
        source: Source,
        distance: int | None,
        timings: dict[str, float],
        started: float,
        *,
        question: str | None = None,
        candidates: list[str] | None = None,
    ) -> Identification:
        elapsed = time.perf_counter() - started
        timings["total"] = elapsed * 1e3
        VISION_REQUESTS.labels(source).inc()
        VISION_LATENCY.observe(elapsed)
        if sku is not None:
            VISION_CONFIDENCE.observe(confidence)
        # On the vision.identify span: which stage answered, and where the time went.
        annotate(
            {"vision.source": source, "vision.sku": sku, "vision.confidence": confidence}
            | {f"vision.{stage}_ms": round(ms, 3) for stage, ms in timings.items()}
        )
        return Identification(
            sku, confidence, source, distance, timings, question, candidates or []
        )
