"""Photo identification results, keyed by the photo's perceptual hash (24 h).

Looked up exactly, then within a small Hamming distance: each stored hash is also listed in 8 band
sets (8 bits each) of its pHash, so by the pigeonhole principle any hash within 7 bits shares at
least one band value with it, and only those few candidates are compared. The exact bytes of a
photo (sha256) point at its hash too, so a re-sent file skips decoding altogether.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ValidationError

from app.observability.metrics import CACHE_REQUESTS
from app.vision.hashing import PhotoHashes, hamming

if TYPE_CHECKING:
    from app.cache.backend import CacheBackend

log = logging.getLogger(__name__)

BANDS = 8
BAND_BITS = 64 // BANDS
MAX_NEAR_DISTANCE = BANDS - 1  # what the band sets can guarantee to find


class VisionEntry(BaseModel):
    """What was concluded about one photo, and against which state of the catalog."""

    sku: str
    confidence: float
    source: Literal["photo_index", "features", "model"]
    catalog_version: int
    product_updated_at: datetime


def _hash_id(hashes: PhotoHashes) -> str:
    return f"{hashes.phash:016x}.{hashes.colorhash:011x}"


def _parse_id(hash_id: str) -> PhotoHashes | None:
    try:
        phash, color = hash_id.split(".")
        return PhotoHashes(phash=int(phash, 16), colorhash=int(color, 16))
    except ValueError:
        return None


def _band_keys(phash: int) -> list[str]:
    mask = (1 << BAND_BITS) - 1
    return [f"vision:band:{i}:{(phash >> (i * BAND_BITS)) & mask:02x}" for i in range(BANDS)]


class VisionCache:
    def __init__(
        self, backend: CacheBackend, ttl: float, max_distance: int, max_color_distance: int = 6
    ) -> None:
        if not 0 <= max_distance <= MAX_NEAR_DISTANCE:
            raise ValueError(f"max_distance must be 0..{MAX_NEAR_DISTANCE} (band sets' guarantee)")
        self._backend = backend
        self._ttl = ttl
        self._max_distance = max_distance
        # Near in grey levels AND in colours, like the photo index: a recoloured look-alike misses.
        self._max_color_distance = max_color_distance

    async def hashes_of_bytes(self, sha256: str) -> PhotoHashes | None:
        """The hashes of a photo whose exact bytes were seen before."""
        raw = await self._backend.get(f"vision:bytes:{sha256}")
        return None if raw is None else _parse_id(raw.decode())

    async def get(self, hashes: PhotoHashes) -> VisionEntry | None:
        """The entry of this photo or of the nearest one within the distance, if any."""
        entry = await self._entry(_hash_id(hashes))
        if entry is None and self._max_distance > 0:
            nearest = await self._nearest(hashes)
            entry = None if nearest is None else await self._entry(nearest)
        CACHE_REQUESTS.labels("vision", "miss" if entry is None else "hit").inc()
        return entry

    async def _entry(self, hash_id: str) -> VisionEntry | None:
        raw = await self._backend.get(f"vision:hash:{hash_id}")
        if raw is None:
            return None
        try:
            return VisionEntry.model_validate_json(raw)
        except ValidationError:
            log.info("vision cache entry %s no longer decodes; ignoring it", hash_id)
            return None

    async def _nearest(self, hashes: PhotoHashes) -> str | None:
        members = await self._backend.set_members_many(_band_keys(hashes.phash))
        best: tuple[int, str] | None = None
        for hash_id in set().union(*members):
            candidate = _parse_id(hash_id)
            if candidate is None:
                continue
            distance = hamming(candidate.phash, hashes.phash)
            if distance > self._max_distance:
                continue
            if hamming(candidate.colorhash, hashes.colorhash) > self._max_color_distance:
                continue
            if best is None or (distance, hash_id) < best:
                best = (distance, hash_id)
        return None if best is None else best[1]

    async def put(
        self, hashes: PhotoHashes, entry: VisionEntry, *, sha256: str | None = None
    ) -> None:
        hash_id = _hash_id(hashes)
        await self._backend.set(
            f"vision:hash:{hash_id}", entry.model_dump_json().encode(), self._ttl
        )
        if sha256 is not None:
            await self._backend.set(f"vision:bytes:{sha256}", hash_id.encode(), self._ttl)
        for key in _band_keys(hashes.phash):
            await self._backend.set_add(key, hash_id, self._ttl)

    async def forget(self, hashes: PhotoHashes) -> None:
        await self._backend.delete(f"vision:hash:{_hash_id(hashes)}")
