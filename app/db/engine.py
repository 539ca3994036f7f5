"""The async engine and session factory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

if TYPE_CHECKING:
    from app.config import DatabaseSettings


def normalize_url(url: str | URL) -> URL:
    """Accept plain `postgresql://` / `postgres://` URLs (as most providers hand them out)."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in {"postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"}:
        parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.drivername != "postgresql+asyncpg":
        raise ValueError(
            f"unsupported database driver {parsed.drivername!r}: kramar needs PostgreSQL "
            "(postgresql+asyncpg://...)"
        )
    return parsed


def create_engine(url: str | URL, settings: DatabaseSettings) -> AsyncEngine:
    return create_async_engine(
        normalize_url(url),
        pool_size=settings.pool_size,
        pool_timeout=settings.pool_timeout,
        pool_pre_ping=True,
        echo=settings.echo,
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
