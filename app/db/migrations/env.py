"""Alembic environment: runs on a connection handed over by `app.db.migrate`, or on its own URL."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from alembic import context

from app.db.models import metadata

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

config = context.config


def run_on(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_with_own_engine() -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.db.engine import normalize_url

    engine = create_async_engine(normalize_url(config.get_main_option("sqlalchemy.url") or ""))
    async with engine.connect() as connection:
        await connection.run_sync(run_on)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    run_on(connection)
else:
    asyncio.run(run_with_own_engine())
