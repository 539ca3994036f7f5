"""Keeping the text index in step with catalog writes: LISTEN, debounce, re-embed, reconcile.

One implementation for both ways to run: `kramar serve` runs it in-process
(`KRAMAR_RAG_SYNC=inprocess`, the embedded default) and the operator runs it in a cluster (the app's
replicas then run with `KRAMAR_RAG_SYNC=operator`). Catalog writes reach it whoever makes them (API,
admin panel, importer, psql): the database triggers NOTIFY `kramar_catalog` with the SKUs a
statement touched. Notifications are gathered for a debounce window after the first one, so a
burst (an import, a script) costs one re-embedding; then only the named products are compared by
content hash and embedded again. Stock and photo changes are ignored: the index embeds text.

A notification can be lost (the listening connection drops, a NOTIFY too large to list SKUs), so a
reconcile compares every product's content hash on each (re)connect and every
`KRAMAR_RAG_SYNC_RECONCILE_SECONDS`. Several replicas may run this at once: the indexer's advisory
lock lets one re-embed at a time, and the next finds the hashes current and embeds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from app.catalog.version import CHANNEL, CONTENT, parse_change
from app.db.listen import listen_forever
from app.observability.metrics import (
    CATALOG_INDEX_LAG,
    CATALOG_SYNC_DURATION,
    CATALOG_SYNC_EMBEDDED,
    CATALOG_SYNC_LAST_SUCCESS,
    CATALOG_SYNCS,
    SyncOutcome,
    SyncTrigger,
)
from app.rag.indexer import IndexReport, reindex

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from app.rag.embedders import Embedder

logger = logging.getLogger(__name__)

# Shows in pg_stat_activity next to the catalog version's own listener.
APPLICATION_NAME = "kramar-index-sync"
MAX_RETRY_SECONDS = 60.0


def observe_sync(
    trigger: SyncTrigger, outcome: SyncOutcome, *, seconds: float | None = None, embedded: int = 0
) -> None:
    """Count one sync in the metrics (the operator's ConfigMap syncs use it too)."""
    CATALOG_SYNCS.labels(trigger, outcome).inc()
    if embedded:
        CATALOG_SYNC_EMBEDDED.labels(trigger).inc(embedded)
    if seconds is not None:
        CATALOG_SYNC_DURATION.labels(trigger).observe(seconds)
    if outcome in ("synced", "skipped"):
        CATALOG_SYNC_LAST_SUCCESS.labels(trigger).set(time.time())


class IndexSync:
    """Re-embeds the products catalog notifications name; `start()` it, `stop()` it."""

    def __init__(
        self,
        engine: AsyncEngine,
        session_factory: async_sessionmaker[AsyncSession],
        embedder: Embedder,
        *,
        debounce_seconds: float = 2.0,
        reconcile_seconds: float = 300.0,
        retry_seconds: float = 1.0,
    ) -> None:
        self._engine = engine
        self._session_factory = session_factory
        self._embedder = embedder
        self._debounce = debounce_seconds
        self._reconcile_every = reconcile_seconds
        self._retry = retry_seconds
        self._pending: set[str] = set()
        self._all_products = False  # a notification too large to name its SKUs
        self._reconcile = False
        self._first_seen: float | None = None  # monotonic time of the oldest unhandled change
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.failures = 0
        self.last_report: IndexReport | None = None

    def notify(self, payload: str) -> None:
        """Take one `kramar_catalog` payload (the listener calls this)."""
        change = parse_change(payload)
        if change is None or change.kind != CONTENT:
            return
        if change.skus is None:
            self._all_products = True
        elif change.skus:
            self._pending |= change.skus
        else:
            return
        if self._first_seen is None:
            self._first_seen = time.monotonic()
        self._wake.set()

    def request_reconcile(self) -> None:
        """Compare every product's hash soon (e.g. notifications may have been missed)."""
        self._reconcile = True
        self._wake.set()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="index-sync-listener"),
            asyncio.create_task(self._work(), name="index-sync"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def sync(self, skus: set[str] | None, trigger: SyncTrigger) -> IndexReport:
        """Re-embed the changed ones of `skus` (None: of every product) now, counted in metrics."""
        try:
            report = await reindex(self._session_factory, self._embedder, skus=skus)
        except Exception:
            observe_sync(trigger, "error")
            raise
        observe_sync(trigger, "synced", seconds=report.seconds, embedded=report.embedded)
        self.last_report = report
        level = logging.INFO if report.embedded else logging.DEBUG
        logger.log(level, "text index sync (%s): %s", trigger, report.summary())
        return report

    async def _listen(self) -> None:
        async def connected(_conn: object) -> None:
            # Whatever was written while nobody listened is found by comparing hashes.
            self.request_reconcile()

        await listen_forever(
            self._engine,
            CHANNEL,
            self.notify,
            application_name=APPLICATION_NAME,
            on_connect=connected,
            retry_seconds=self._retry,
        )

    async def _work(self) -> None:
        next_reconcile = time.monotonic() + self._reconcile_every
        while True:
            if not (self._pending or self._all_products or self._reconcile):
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
                # cancellation that arrives as the event is set, and stop() then waits forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(max(next_reconcile - time.monotonic(), 0)):
                        await self._wake.wait()
                self._wake.clear()
            first_seen = self._first_seen
            if first_seen is not None:
                # Debounce: the rest of a burst arrives while this waits.
                await asyncio.sleep(max(first_seen + self._debounce - time.monotonic(), 0))
                trigger: SyncTrigger = "notify"
                skus = None if self._all_products else set(self._pending)
            elif self._reconcile or time.monotonic() >= next_reconcile:
                trigger, skus = "reconcile", None
            else:
                continue
            everything = skus is None
            self._pending, self._all_products, self._first_seen = set(), False, None
            if everything:
                self._reconcile = False
            try:
                await self.sync(skus, trigger)
            except Exception:
                self.failures += 1
                delay = min(self._retry * 2 ** (self.failures - 1), MAX_RETRY_SECONDS)
                logger.exception("text index sync (%s) failed; retrying in %.1f s", trigger, delay)
                self._requeue(skus, first_seen)
                await asyncio.sleep(delay)
                continue
            self.failures = 0
            if first_seen is not None:
                CATALOG_INDEX_LAG.observe(time.monotonic() - first_seen)
            if everything:
                next_reconcile = time.monotonic() + self._reconcile_every

    def _requeue(self, skus: set[str] | None, first_seen: float | None) -> None:
        """Put a failed batch back, so the next attempt covers it as well as what came since."""
        if skus is None:
            if first_seen is None:
                self._reconcile = True
            else:
                self._all_products = True
        else:
            self._pending |= skus
        if first_seen is not None:
            self._first_seen = min(first_seen, self._first_seen or first_seen)
