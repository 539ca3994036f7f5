"""What was last imported from each catalog source outside the database (a ConfigMap).

The operator asks `imported_hash` before importing, so a restart, a resumed watch or an edit of a
ConfigMap's labels imports nothing twice; the record is written after the import and the
re-embedding both succeeded, so a sync that failed half-way is done again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app.catalog.models import CatalogSource

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def imported_hash(
    session_factory: async_sessionmaker[AsyncSession], source: str
) -> str | None:
    """The content hash last imported from `source` (e.g. `configmap/shop/catalog`), if any."""
    async with session_factory() as session:
        query = select(CatalogSource.content_hash).where(CatalogSource.source == source)
        digest: str | None = await session.scalar(query)
        return digest


async def record_import(
    session_factory: async_sessionmaker[AsyncSession], source: str, digest: str, summary: str
) -> None:
    """Note that `source`'s content with hash `digest` is in the database now."""
    statement = insert(CatalogSource).values(source=source, content_hash=digest, summary=summary)
    statement = statement.on_conflict_do_update(
        index_elements=[CatalogSource.source],
        set_={"content_hash": digest, "summary": summary, "synced_at": func.now()},
    )
    async with session_factory() as session, session.begin():
        await session.execute(statement)
