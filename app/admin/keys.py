"""Keys the panel makes for itself: created once by whichever replica starts first, then read
by all from Postgres, so a CSRF token signed on one replica is accepted by every other."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.admin.models import PanelKey

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


async def shared_key(session_factory: async_sessionmaker[AsyncSession], name: str) -> str:
    """The key `name`, generated (256 random bits) if no replica made it yet."""
    async with session_factory() as session, session.begin():
        await session.execute(
            insert(PanelKey)
            .values(name=name, value=secrets.token_hex(32))
            .on_conflict_do_nothing(index_elements=[PanelKey.name])
        )
        value = await session.scalar(select(PanelKey.value).where(PanelKey.name == name))
    assert value is not None
    return value
