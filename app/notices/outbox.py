"""The manager notice outbox: written with the change it reports, sent by a bot process.

A catalog import in a shell or an API replica without a bot cannot reach Telegram, and a message
sent before the commit could report a change that then rolls back. So the writer inserts a row in
its own transaction (`add_notice`), and every process that runs the bot's workers calls
`send_due` now and then: rows are claimed with FOR UPDATE SKIP LOCKED, so replicas share them and
each notice is sent once (at least once: a process dying between the send and the commit sends
it again). A failed send is retried with exponential back-off, and never dropped.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from app.notices.models import ManagerNotice

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)

BATCH = 20
FIRST_RETRY_SECONDS = 10.0
MAX_RETRY_SECONDS = 3600.0


def add_notice(session: AsyncSession, text: str) -> None:
    """Queue `text` for the managers' chat; it is sent only if `session` commits."""
    session.add(ManagerNotice(text=text))


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed send (1-based)."""
    return timedelta(seconds=min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** (attempts - 1)))


async def send_due(
    session_factory: async_sessionmaker[AsyncSession], send: Callable[[str], Awaitable[bool]]
) -> int:
    """Send up to `BATCH` due notices through `send` (True: delivered); how many were claimed."""
    async with session_factory() as session, session.begin():
        notices = list(
            await session.scalars(
                select(ManagerNotice)
                .where(ManagerNotice.sent_at.is_(None), ManagerNotice.next_attempt_at <= func.now())
                .order_by(ManagerNotice.id)
                .limit(BATCH)
                .with_for_update(skip_locked=True)
            )
        )
        for notice in notices:
            try:
                delivered = await send(notice.text)
                error = None if delivered else "Telegram did not take the message"
            except Exception as exc:  # the next notice may still go through
                delivered, error = False, type(exc).__name__
            if delivered:
                notice.sent_at = func.now()
                continue
            notice.attempts += 1
            notice.last_error = error
            notice.next_attempt_at = func.now() + retry_delay(notice.attempts)
            logger.warning(
                "manager notice %d not sent (%s, attempt %d)", notice.id, error, notice.attempts
            )
    return len(notices)


async def deliver_forever(
    session_factory: async_sessionmaker[AsyncSession],
    send: Callable[[str], Awaitable[bool]],
    *,
    interval: float,
) -> None:
    """Send due notices every `interval` seconds until cancelled."""
    while True:
        try:
            while await send_due(session_factory, send) == BATCH:
                pass
        except Exception:
            logger.exception("sending manager notices failed; next try in %.0f s", interval)
        await asyncio.sleep(interval)
