"""LISTEN on a Postgres channel for as long as the process runs, reconnecting when it drops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import asyncpg

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)


def raw_dsn(engine: AsyncEngine) -> str:
    """The engine's URL for asyncpg itself (no SQLAlchemy driver name)."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_forever(
    engine: AsyncEngine,
    channel: str,
    on_notify: Callable[[str], None],
    *,
    application_name: str,
    on_connect: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
    on_lost: Callable[[], None] | None = None,
    retry_seconds: float = 1.0,
) -> None:
    """Call `on_notify(payload)` for every notification on `channel`; cancel the task to stop.

    `on_connect` runs right after LISTEN (read state there: a write between LISTEN and the read
    is then seen one way or the other); `on_lost` whenever the connection is gone, so callers
    stop trusting what they learned from notifications. `application_name` shows in
    pg_stat_activity, so a DBA can tell the long-lived connection apart.
    """
    dsn = raw_dsn(engine)

    def deliver(_conn: Any, _pid: int, _channel: str, payload: str) -> None:
        on_notify(payload)

    while True:
        conn: asyncpg.Connection | None = None
        try:
            conn = await asyncpg.connect(
                dsn, server_settings={"application_name": application_name}
            )
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            await conn.add_listener(channel, deliver)
            if on_connect is not None:
                await on_connect(conn)
            await lost.wait()
            logger.warning("%s lost its connection; reconnecting", application_name)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the database is down or restarting: retry
            logger.warning("%s cannot connect: %r", application_name, error)
        finally:
            if on_lost is not None:
                on_lost()
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await conn.close(timeout=2)
        await asyncio.sleep(retry_seconds)
