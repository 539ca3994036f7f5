"""Opening the database the settings point at: an external URL, or the embedded Postgres."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.db import migrate
from app.db.embedded import EmbeddedPostgres
from app.db.engine import create_engine, create_session_factory

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from app.config import Settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    embedded: bool


@asynccontextmanager
async def open_database(
    settings: Settings, *, check_schema: bool = True
) -> AsyncIterator[Database]:
    """Connect to `KRAMAR_DATABASE_URL`, or start the embedded Postgres when it is unset.

    The embedded database is private to this checkout, so it is migrated automatically; an
    external one must already be at the code's schema (`kramar migrate`), or this raises
    `SchemaBehindError`.
    """
    embedded: EmbeddedPostgres | None = None
    url: str | URL
    if settings.database.url is not None:
        url = settings.database.url.get_secret_value()
    else:
        embedded = EmbeddedPostgres(settings.data_dir)
        url = await asyncio.to_thread(embedded.start)
    engine = create_engine(url, settings.database)
    try:
        if embedded is not None:
            await migrate.upgrade(engine)
        elif check_schema:
            await migrate.ensure_current(engine)
        yield Database(engine, create_session_factory(engine), embedded=embedded is not None)
    finally:
        await engine.dispose()
        if embedded is not None:
            await asyncio.to_thread(embedded.stop)
