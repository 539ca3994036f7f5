"""Identification of a customer photo, model-free part: vision cache → catalog photo index.

The model step (issue 4) plugs in after the index. Every answer that names a product is checked
against the product's current card: a deactivated or changed product is never answered from an
old conclusion.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select

from app.cache.vision import VisionEntry
from app.catalog.models import Photo, Product
from app.observability.metrics import VISION_CONFIDENCE, VISION_LATENCY, VISION_REQUESTS
from app.observability.tracing import annotate, traced
from app.vision.decoding import off_loop
from app.vision.hashing import hash_photo, to_signed64, to_unsigned64
from app.vision.index import IndexEntry, PhotoIndex

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.cache.vision import VisionCache
    from app.catalog.schemas import Product as Card
    from app.catalog.version import CatalogVersion
    from app.config import VisionSettings
    from app.vision.hashing import PhotoHashes
    from app.vision.model import ModelVision

log = logging.getLogger(__name__)

Source = Literal["cache", "photo_index", "model", "none"]


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
    """The RAG top-k the model chose among (for "is it one of these?")."""


class CatalogPhotoIndex:
    """The photo index of active products, rebuilt when the catalog version moves."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], version: CatalogVersion
    ) -> None:
        self._session_factory = session_factory
        self._version = version
        self._index = PhotoIndex()
        self._built_for: int | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> PhotoIndex:
        current = await self._version.current()
        if current != self._built_for:
            async with self._lock:  # one rebuild, however many photos arrive meanwhile
                if current != self._built_for:
                    self._index = await self._load()
                    self._built_for = current
        return self._index

    async def _load(self) -> PhotoIndex:
        started = time.perf_counter()
        async with self._session_factory() as session:
            rows = await session.execute(
                select(Photo.id, Product.sku, Photo.phash, Photo.colorhash)
                .join(Product)
                .where(Product.active.is_(True), Photo.phash.is_not(None))
            )
            entries = [
                IndexEntry(
                    photo_id=photo_id,
                    sku=sku,
                    phash=to_unsigned64(phash),
                    colorhash=None if color is None else to_unsigned64(color),
                )
                for photo_id, sku, phash, color in rows
                if phash is not None
            ]
        index = PhotoIndex.build(entries)
        log.info(
            "photo index: %d photos in %.0f ms", len(index), (time.perf_counter() - started) * 1e3
        )
        return index


def catalog_photo_hasher(settings: VisionSettings) -> Callable[[bytes], tuple[int, int | None]]:
    """The importer's hasher: (pHash, colour hash) as signed int64, by the customers' path."""

    def hasher(data: bytes) -> tuple[int, int | None]:
        hashes = hash_photo(data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
        return to_signed64(hashes.phash), to_signed64(hashes.colorhash)

    return hasher


class PhotoIdentifier:
    """`identify(photo_bytes)`: cache, then the catalog photo index, then "not found"."""

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

        match = (await self._index.get()).nearest(
            hashes,
            self._settings.match_max_distance,
            max_color_distance=self._settings.match_max_color_distance,
        )
        mark = lap("index", mark)
        if match is not None:
            card = await self._cards(match.sku)
            if card is not None and card.active:
                await self._remember(
                    hashes, sha256, match.sku, match.confidence, card, "photo_index"
                )
                lap("store", mark)
                return self._done(
                    match.sku, match.confidence, "photo_index", match.distance, timings, started
                )
        if self._model is not None and self._model.enabled:
            verdict = await self._model.identify(photo, caption)
            mark = lap("model", mark)
            card = await self._cards(verdict.sku) if verdict.sku else None
            if verdict.sku and card is not None and card.active:
                await self._remember(hashes, sha256, verdict.sku, verdict.confidence, card, "model")
                lap("store", mark)
                return self._done(
                    verdict.sku,
                    verdict.confidence,
                    "model",
                    None,
                    timings,
                    started,
                    candidates=verdict.candidates,
                )
            return self._done(
                None,
                0.0,
                "none",
                None,
                timings,
                started,
                question=verdict.question,
                candidates=verdict.candidates,
            )
        return self._done(None, 0.0, "none", None, timings, started)

    async def _remember(
        self,
        hashes: PhotoHashes,
        sha256: str,
        sku: str,
        confidence: float,
        card: Card,
        source: Literal["photo_index", "model"],
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
