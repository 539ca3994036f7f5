"""One catalog ConfigMap into the database and the text index, with the app's own importer.

`sync_source` skips content already imported (the hash recorded in `catalog_sources`), validates
the whole catalog before writing (a `CatalogFileError` names every problem as `file:line: ...`),
upserts by SKU in one transaction (pruning only when asked), re-embeds only the products whose
embedding text changed, and records the hash last. The report goes on the ConfigMap as
annotations (`report_annotations`), which kopf is told to ignore so they trigger nothing.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from app.catalog.importer import import_catalog, load_upload_items
from app.catalog.service import CatalogService
from app.catalog.sources import imported_hash, record_import
from app.db import migrate
from app.rag.indexer import reindex
from app.vision.pipeline import catalog_photo_hasher
from kramar_operator.source import SHOP_KEY

if TYPE_CHECKING:
    from app.catalog.importer import ImportPlan
    from kramar_operator.runtime import Runtime
    from kramar_operator.source import CatalogSource

SYNCED_HASH = "kramar.io/synced-hash"
SYNCED_AT = "kramar.io/synced-at"
COUNTS = "kramar.io/sync-counts"
LAST_ERROR = "kramar.io/last-error"
LAST_ERROR_AT = "kramar.io/last-error-at"
# The operator's own annotations: a change of them alone is not a change of the catalog.
REPORT_ANNOTATIONS = (SYNCED_HASH, SYNCED_AT, COUNTS, LAST_ERROR, LAST_ERROR_AT)
# An annotation value stays readable in `kubectl describe`; the Event carries the same text.
MAX_ERROR_CHARS = 900


@dataclass(frozen=True)
class SyncResult:
    plan: ImportPlan
    embedded: int
    seconds: float

    def counts(self) -> dict[str, int]:
        plan = self.plan
        return {
            "added": len(plan.added),
            "changed": len(plan.changed),
            "deactivated": len(plan.deactivated),
            "unchanged": plan.unchanged,
            "embedded": self.embedded,
        }

    def message(self, source: CatalogSource) -> str:
        """The Event's text: what the import did, what was re-embedded, how long it took."""
        ignored = f"; keys ignored: {', '.join(source.ignored)}" if source.ignored else ""
        return (
            f"{source.key}: {self.plan.summary(limit=5)}; {self.embedded} re-embedded in "
            f"{self.seconds:.2f} s{ignored}"
        )


async def sync_source(runtime: Runtime, source: CatalogSource) -> SyncResult | None:
    """Import `source` unless its content was imported already (then None).

    Raises `CatalogFileError` for an invalid catalog (nothing written), `SchemaBehindError` when
    migrations have not run yet, and database or embedder errors as they come: the caller
    decides what is permanent and what is retried.
    """
    started = time.perf_counter()
    db, settings = runtime.db, runtime.settings
    await migrate.ensure_current(db.engine)
    if await imported_hash(db.session_factory, source.source) == source.digest:
        return None

    async def stored(paths: set[str]) -> dict[str, bytes]:
        async with CatalogService(db.session_factory) as catalog:
            return await catalog.stored_photos(paths)

    items = await load_upload_items(
        source.content,
        name=source.file_name,
        photos=source.photos,
        stored=stored,
        max_catalog_bytes=settings.max_catalog_bytes,
        max_photo_bytes=settings.max_photo_bytes,
        shop=None if source.shop is None else (source.file_name_of(SHOP_KEY), source.shop),
    )
    plan = await import_catalog(
        db.session_factory,
        items,
        prune=source.prune,
        photo_hasher=catalog_photo_hasher(settings.vision),
    )
    # Every SKU of the ConfigMap, not only those this import changed: after a retry (the
    # embedder was down) the products written by the first attempt are compared again.
    named = [item.product.sku for item in items]
    report = await reindex(db.session_factory, runtime.embedder, skus=named)
    result = SyncResult(plan, report.embedded, time.perf_counter() - started)
    await record_import(db.session_factory, source.source, source.digest, result.message(source))
    return result


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def report_annotations(source: CatalogSource, result: SyncResult) -> dict[str, str | None]:
    """The ConfigMap annotations after a sync (None removes the last error)."""
    return {
        SYNCED_HASH: source.digest,
        SYNCED_AT: now_iso(),
        COUNTS: json.dumps(result.counts(), separators=(",", ":")),
        LAST_ERROR: None,
        LAST_ERROR_AT: None,
    }


def error_annotations(message: str) -> dict[str, str | None]:
    """The ConfigMap annotations after a failed sync; the last success stays as it was."""
    if len(message) > MAX_ERROR_CHARS:
        message = message[: MAX_ERROR_CHARS - 3] + "..."
    return {LAST_ERROR: message, LAST_ERROR_AT: now_iso()}
