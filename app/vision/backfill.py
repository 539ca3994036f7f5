"""Features for photos stored without them, computed in the background from their stored bytes.

Photos get their features when they are imported. Photos stored before the second stage existed,
or with features of another extractor or vocabulary (`features_version`), would otherwise stay out
of the feature index until their catalog is imported again, and nothing imports it again by
itself: `kramar catalog import --if-empty` skips a full database and the operator skips a catalog
whose content it imported before. So every replica, once started, walks the photos whose features
are missing or out of date, in small batches. Each batch runs under the importer's advisory lock
(tried, never waited for): imports and the backfill never write the same rows at once, and of
several replicas one does the work while the others wait for the lock. Each batch is written by
one UPDATE, so the triggers move the photo version once per batch and every replica's photo index
loads the new features in the background, as after an import.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, LargeBinary, column, func, select, update, values

from app.catalog.importer import IMPORT_LOCK_ID, PhotoAnalysis
from app.catalog.models import Photo

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Update
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.vision.pipeline import CatalogPhotoHasher

log = logging.getLogger(__name__)

BATCH = 25
"""Photos analysed per transaction (~20 ms each): an import waits at most about half a second."""
RETRY_SECONDS = 5.0
"""Pause before trying again while an import (or another replica's batch) holds the lock."""


class FeatureBackfill:
    """`backfill_features` as a background task of the app: started with it, failures logged."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], analyser: CatalogPhotoHasher
    ) -> None:
        self._session_factory = session_factory
        self._analyser = analyser
        self._task: asyncio.Task[int] | None = None

    def start(self) -> None:
        """Start walking the photos (nothing to do when the second stage is off)."""
        if self._task is None and self._analyser.features_version is not None:
            self._task = asyncio.create_task(self._run(), name="photo-features-backfill")

    async def wait(self) -> int:
        """How many photos the backfill wrote, once it is done (0 if it never started)."""
        return 0 if self._task is None else await asyncio.shield(self._task)

    async def close(self) -> None:
        """Stop the backfill (a batch in flight is rolled back; the next start-up goes on)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> int:
        version = self._analyser.features_version
        assert version is not None
        try:
            return await backfill_features(self._session_factory, self._analyser, version)
        except Exception:  # the index serves what it has; the next start-up tries again
            log.exception("photo features backfill failed")
            return 0


async def backfill_features(
    session_factory: async_sessionmaker[AsyncSession],
    analyse: Callable[[bytes], PhotoAnalysis],
    version: str,
    *,
    batch: int = BATCH,
    retry_seconds: float = RETRY_SECONDS,
) -> int:
    """Analyse every stored photo whose features are not of `version`; returns how many were
    written. Photos that cannot be analysed are logged and left as they are."""
    started = time.perf_counter()
    after = 0  # photo ids are walked in order once: a photo that fails is not tried again
    written = failed = 0
    while True:
        async with session_factory() as session, session.begin():
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(IMPORT_LOCK_ID))):
                locked = True
            else:
                locked = False
                rows = (
                    await session.execute(
                        select(Photo.id, Photo.content)
                        .where(
                            Photo.id > after,
                            Photo.content.is_not(None),
                            Photo.features_version.is_distinct_from(version),
                        )
                        .order_by(Photo.id)
                        .limit(batch)
                    )
                ).all()
                if not rows:
                    break
                after = rows[-1][0]
                found = await asyncio.to_thread(_analyse_all, analyse, [(i, c) for i, c in rows])
                failed += len(rows) - len(found)
                if found:
                    await session.execute(_write(found, version))
                    written += len(found)
        if locked:
            await asyncio.sleep(retry_seconds)
    if written or failed:
        log.info(
            "photo features backfilled: %d photos written, %d could not be read, %.1f s",
            written,
            failed,
            time.perf_counter() - started,
        )
    return written


def _analyse_all(
    analyse: Callable[[bytes], PhotoAnalysis], rows: list[tuple[int, bytes | None]]
) -> dict[int, PhotoAnalysis]:
    found: dict[int, PhotoAnalysis] = {}
    for photo_id, content in rows:
        if content is None:
            continue
        try:
            result = analyse(content)
        # Stored bytes passed the import's checks, but limits may have been lowered since.
        except Exception as error:
            log.warning("photo %d: cannot compute its features: %s", photo_id, error)
            continue
        if result.features is not None and result.feature_words is not None:
            found[photo_id] = result
    return found


def _write(found: dict[int, PhotoAnalysis], version: str) -> Update:
    """One UPDATE for the whole batch (statement triggers: one version bump)."""
    rows = values(
        column("id", BigInteger),
        column("phash", BigInteger),
        column("colorhash", BigInteger),
        column("features", LargeBinary),
        column("feature_words", LargeBinary),
        name="analysed",
    ).data(
        [
            (photo_id, a.phash, a.colorhash, a.features, a.feature_words)
            for photo_id, a in found.items()
        ]
    )
    return (
        update(Photo)
        .where(Photo.id == rows.c.id)
        .values(
            phash=rows.c.phash,
            colorhash=rows.c.colorhash,
            features=rows.c.features,
            feature_words=rows.c.feature_words,
            features_version=version,
        )
    )
