"""The catalog version as every process sees it, kept current by Postgres LISTEN/NOTIFY.

The catalog triggers bump `catalog_state.version` and NOTIFY `kramar_catalog` on every write,
whoever writes: this process, another replica, `kramar catalog import` in a shell, or a person
with psql. Caches that put the version in their keys are therefore never stale after a commit.
While the listening connection is down, `current()` reads the version from the database on every
call instead, so a lost notification can never serve an old price.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import select

from app.catalog.models import CatalogState

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)

CHANNEL = "kramar_catalog"
# Shows in pg_stat_activity, so a DBA can tell this long-lived connection apart.
APPLICATION_NAME = "kramar-catalog-listener"


class CatalogVersion:
    """`await current()` is the newest committed catalog version."""

    def __init__(self, engine: AsyncEngine, *, retry_seconds: float = 1.0) -> None:
        self._engine = engine
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
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

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.observe(int(payload))

    async def start(self) -> None:
        """Start listening in the background; waits (up to 10 s) for the first connection.

        Without it the app still serves: `current()` then reads the database every time.
        """
        self._task = asyncio.create_task(self._listen(), name="catalog-version-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), 10)

    async def _listen(self) -> None:
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": APPLICATION_NAME}
                )
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(CHANNEL, self._on_notify)
                # Read after LISTEN: a write between the two is then seen one way or the other.
                self._version = int(await conn.fetchval("SELECT version FROM catalog_state") or 0)
                self._connected.set()
                await lost.wait()
                logger.warning("catalog version listener lost its connection; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database is down or restarting: retry
                logger.warning("catalog version listener cannot connect: %r", error)
            finally:
                self._version = None
                self._connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await conn.close(timeout=2)
            await asyncio.sleep(self._retry)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
