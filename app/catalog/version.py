"""The catalog version as every process sees it, kept current by Postgres LISTEN/NOTIFY.

The catalog triggers bump `catalog_state.version` and NOTIFY `kramar_catalog` on every write,
whoever writes: this process, another replica, `kramar catalog import` in a shell, or a person
with psql. Caches that put the version in their keys are therefore never stale after a commit.
The payload (`parse_change`) also says what kind of data changed and for which SKUs, which the
RAG index sync (`app.rag.sync`) uses to re-embed only those products.
While the listening connection is down, `current()` reads the version from the database on every
call instead, so a lost notification can never serve an old price.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from app.catalog.models import CatalogState
from app.db.listen import listen_forever

if TYPE_CHECKING:
    import asyncpg
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

CHANNEL = "kramar_catalog"
# Shows in pg_stat_activity, so a DBA can tell this long-lived connection apart.
APPLICATION_NAME = "kramar-catalog-listener"
# What a notification's `kind` says changed: the products' own columns (what the RAG index
# embeds), variants and reservations, or photos.
CONTENT = "content"


@dataclass(frozen=True)
class CatalogChange:
    """One catalog notification: the version it made and what it touched."""

    version: int
    kind: str
    # None: too many to list within the NOTIFY size limit; assume any product changed.
    skus: frozenset[str] | None


def parse_change(payload: str) -> CatalogChange | None:
    """The change a `kramar_catalog` payload describes (`{"v": 12, "kind": ..., "skus": [...]}`).

    A bare number (the payload before migration 0012) reads as a content change of unknown SKUs.
    None for anything else, which no trigger of ours sends.
    """
    try:
        data: Any = json.loads(payload)
    except ValueError:
        return None
    if _is_int(data):
        return CatalogChange(data, CONTENT, None)
    if not isinstance(data, dict) or not _is_int(data.get("v")):
        return None
    skus = data.get("skus")
    if isinstance(skus, list) and all(isinstance(sku, str) for sku in skus):
        listed: frozenset[str] | None = frozenset(skus)
    else:
        listed = None
    return CatalogChange(data["v"], str(data.get("kind", CONTENT)), listed)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class CatalogVersion:
    """`await current()` is the newest committed catalog version."""

    def __init__(self, engine: AsyncEngine, *, retry_seconds: float = 1.0) -> None:
        self._engine = engine
        self._retry = retry_seconds
        self._version: int | None = None  # None: not listening, ask the database
        self._task: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()

    async def read(self) -> int:
        """The version straight from the database."""
        async with self._engine.connect() as conn:
            return int(await conn.scalar(select(CatalogState.version)) or 0)

    async def current(self) -> int:
        if self._version is None:
            return await self.read()
        return self._version

    def observe(self, version: int) -> None:
        """Note a version this process learned by itself (e.g. right after its own commit)."""
        if self._version is not None and version > self._version:
            self._version = version

    def _on_payload(self, payload: str) -> None:
        change = parse_change(payload)
        if change is not None:
            self.observe(change.version)

    async def start(self) -> None:
        """Start listening in the background; waits (up to 10 s) for the first connection.

        Without it the app still serves: `current()` then reads the database every time.
        """
        self._task = asyncio.create_task(self._listen(), name="catalog-version-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 10)

    async def _listen(self) -> None:
        async def connected(conn: asyncpg.Connection) -> None:
            self._version = int(await conn.fetchval("SELECT version FROM catalog_state") or 0)
            self._connected.set()

        def lost() -> None:
            self._version = None
            self._connected.clear()

        await listen_forever(
            self._engine,
            CHANNEL,
            self._on_payload,
            application_name=APPLICATION_NAME,
            on_connect=connected,
            on_lost=lost,
            retry_seconds=self._retry,
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
