"""A Litestar `Store` on Postgres, for panel sessions when there is no Redis.

Litestar ships Redis, Valkey, file and memory stores; with several replicas and no Redis only
the database is shared, so sessions live in `admin_sessions`. Expired rows are never returned
and are deleted by `delete_expired` (called at each sign-in).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from litestar.stores.base import Store
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.admin.models import AdminSession

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def _seconds(value: int | timedelta) -> timedelta:
    return value if isinstance(value, timedelta) else timedelta(seconds=value)


def _live() -> ColumnElement[bool]:
    return (AdminSession.expires_at.is_(None)) | (AdminSession.expires_at > func.now())


class PostgresStore(Store):
    """Keys and bytes in `admin_sessions`, with an optional expiry per key."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def set(
        self, key: str, value: str | bytes, expires_in: int | timedelta | None = None
    ) -> None:
        data = value.encode() if isinstance(value, str) else value
        expires = None if expires_in is None else func.now() + _seconds(expires_in)
        statement = insert(AdminSession).values(key=key, value=data, expires_at=expires)
        statement = statement.on_conflict_do_update(
            index_elements=[AdminSession.key], set_={"value": data, "expires_at": expires}
        )
        async with self._session_factory() as session, session.begin():
            await session.execute(statement)

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with self._session_factory() as session, session.begin():
            if renew_for is None:
                return await session.scalar(
                    select(AdminSession.value).where(AdminSession.key == key, _live())
                )
            return await session.scalar(
                update(AdminSession)
                .where(AdminSession.key == key, _live())
                .values(expires_at=func.now() + _seconds(renew_for))
                .returning(AdminSession.value)
            )

    async def delete(self, key: str) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(delete(AdminSession).where(AdminSession.key == key))

    async def delete_all(self) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(delete(AdminSession))

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self._session_factory() as session:
            left = await session.scalar(
                select(func.extract("epoch", AdminSession.expires_at - func.now())).where(
                    AdminSession.key == key, _live()
                )
            )
        return None if left is None else int(left)

    async def delete_expired(self) -> int:
        """Delete the rows whose expiry passed; how many."""
        async with self._session_factory() as session, session.begin():
            gone = await session.execute(
                delete(AdminSession)
                .where(AdminSession.expires_at <= func.now())
                .returning(AdminSession.key)
            )
            return len(gone.all())
