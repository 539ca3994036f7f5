"""Shared fixtures: a real Postgres with pgvector and a real Redis, started once per test run.

Each test that asks for `db` or `redis_url` sees clean data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from sqlalchemy import text

from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine, create_session_factory
from app.db.models import metadata
from tests.servers.postgres import TestPostgres
from tests.servers.redis import RedisServer
from tests.servers.telegram import TelegramServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker


@pytest.fixture(name="postgres", scope="session")
def fx_postgres() -> Iterator[TestPostgres]:
    server = TestPostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="database_url", scope="session")
def fx_database_url(postgres: TestPostgres) -> URL:
    return postgres.create_database("kramar_test")


@pytest.fixture(name="engine", scope="session")
async def fx_engine(database_url: URL) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url, DatabaseSettings())
    await migrate.upgrade(engine)
    yield engine
    await engine.dispose()


@pytest.fixture(name="db")
async def fx_db(engine: AsyncEngine) -> AsyncEngine:
    """The migrated test database, emptied before the test."""
    counters = {"catalog_state", "photo_index_state"}  # single rows the triggers update
    tables = ", ".join(t.name for t in metadata.sorted_tables if t.name not in counters)
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        for counter in sorted(counters):
            await conn.execute(text(f"UPDATE {counter} SET version = 0"))
    return engine


@pytest.fixture(name="session_factory")
def fx_session_factory(db: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return create_session_factory(db)


@pytest.fixture(name="session")
async def fx_session(
    session_factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    async with session_factory() as session:
        yield session


@pytest.fixture(name="redis_server", scope="session")
def fx_redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(name="redis_url")
async def fx_redis_url(redis_server: RedisServer) -> str:
    """URL of the shared test Redis, flushed before the test."""
    from redis.asyncio import Redis

    client = Redis.from_url(redis_server.url)
    await client.flushall()
    await client.aclose()
    return redis_server.url


@pytest.fixture(name="telegram")
def fx_telegram() -> Iterator[TelegramServer]:
    """The Telegram Bot API stand-in on a free port, for a real aiogram Bot."""
    with TelegramServer() as server:
        yield server


pytest_plugins = ["tests.fixtures_app", "tests.fixtures_cli", "tests.fixtures_demo"]
