"""What the operator runs on: the app's settings, database, embedder and the index sync loop."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.db.runtime import open_database
from app.observability.logs import RedactingFilter, configured_secrets
from app.rag.embedders import create_embedder
from app.rag.sync import IndexSync

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from app.config import Settings
    from app.db.runtime import Database
    from app.rag.embedders import Embedder

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: Database
    embedder: Embedder
    index_sync: IndexSync
    redactor: RedactingFilter

    def redact(self, text: str) -> str:
        """`text` without secrets: for Events and annotations, which no log filter sees."""
        return self.redactor.redact(text)


@asynccontextmanager
async def open_runtime(settings: Settings) -> AsyncIterator[Runtime]:
    """Open the database (not checking the schema: each sync does) and start the index sync.

    A database that is down or behind does not stop the operator from starting: syncs fail with
    a temporary error and are retried, and the index sync reconnects by itself.
    """
    async with open_database(settings, check_schema=False) as db:
        embedder = create_embedder(settings.rag)
        index_sync = IndexSync(
            db.engine,
            db.session_factory,
            embedder,
            debounce_seconds=settings.rag.sync_debounce_seconds,
            reconcile_seconds=settings.rag.sync_reconcile_seconds,
            retry_seconds=settings.operator.retry_seconds,
        )
        await index_sync.start()
        try:
            yield Runtime(
                settings=settings,
                db=db,
                embedder=embedder,
                index_sync=index_sync,
                redactor=RedactingFilter(configured_secrets(settings)),
            )
        finally:
            await index_sync.stop()
