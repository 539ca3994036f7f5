"""A throwaway PostgreSQL with pgvector for tests (pgserver, unix socket in a private folder)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from app.config import DatabaseSettings
from app.db import migrate
from app.db.embedded import EmbeddedPostgres
from app.db.engine import create_engine, create_session_factory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    Scratch = tuple[AsyncEngine, async_sessionmaker[AsyncSession]]


class TestPostgres:
    """Starts a private Postgres under /tmp (pgserver opens permissions on every parent folder)."""

    __test__ = False

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kramar-pg-", dir="/tmp"))
        self._server = EmbeddedPostgres(self.root)

    def start(self) -> URL:
        return self._server.start()

    def database_url(self, name: str) -> URL:
        return self._server.url.set(database=name)

    def create_database(self, name: str) -> URL:
        from pgserver import get_server  # type: ignore[attr-defined]

        server = get_server(str(self._server.pgdata), cleanup_mode="stop")
        server.psql(f'DROP DATABASE IF EXISTS "{name}"; CREATE DATABASE "{name}";')
        return self.database_url(name)

    def stop(self) -> None:
        self._server.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@asynccontextmanager
async def migrated_database() -> AsyncIterator[
    tuple[AsyncEngine, async_sessionmaker[AsyncSession]]
]:
    """A throwaway Postgres at the code's schema, for benchmarks and evals; gone afterwards."""
    server = TestPostgres()
    try:
        engine = create_engine(await asyncio.to_thread(server.start), DatabaseSettings())
        try:
            await migrate.upgrade(engine)
            yield engine, create_session_factory(engine)
        finally:
            await engine.dispose()
    finally:
        server.stop()
