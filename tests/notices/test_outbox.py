"""The manager notice outbox against the real database: once per notice, retried when refused."""

from __future__ import annotations

import asyncio

from sqlalchemy import select, text

from app.notices.models import ManagerNotice
from app.notices.outbox import BATCH, add_notice, retry_delay, send_due


async def queue(session_factory, *texts):
    async with session_factory() as session, session.begin():
        for body in texts:
            add_notice(session, body)


async def rows(session_factory):
    async with session_factory() as session:
        return list(await session.scalars(select(ManagerNotice).order_by(ManagerNotice.id)))


async def test_replicas_sending_at_once_send_each_notice_once(session_factory):
    await queue(session_factory, *(f"notice {n}" for n in range(BATCH + 5)))
    sent: list[str] = []

    async def slow_send(body: str) -> bool:
        await asyncio.sleep(0.01)  # both replicas are inside their batch at the same time
        sent.append(body)
        return True

    claimed = await asyncio.gather(*(send_due(session_factory, slow_send) for _ in range(3)))
    claimed_more = await send_due(session_factory, slow_send)

    assert sum(claimed) + claimed_more == BATCH + 5
    assert sorted(sent) == sorted(f"notice {n}" for n in range(BATCH + 5))
    assert all(row.sent_at is not None for row in await rows(session_factory))


async def test_a_refused_or_failing_send_is_kept_and_retried_later(session_factory):
    await queue(session_factory, "refused", "raises")

    async def failing(body: str) -> bool:
        if body == "raises":
            raise ConnectionError("telegram unreachable")
        return False

    assert await send_due(session_factory, failing) == 2
    assert await send_due(session_factory, failing) == 0  # backing off, not hammering
    refused, raised = await rows(session_factory)
    assert (refused.attempts, refused.sent_at) == (1, None)
    assert refused.last_error == "Telegram did not take the message"
    assert raised.last_error == "ConnectionError"
    assert refused.next_attempt_at - refused.created_at >= retry_delay(1) * 0.9

    async with session_factory() as session, session.begin():
        await session.execute(text("UPDATE manager_notices SET next_attempt_at = now()"))
    delivered: list[str] = []

    async def working(body: str) -> bool:
        delivered.append(body)
        return True

    assert await send_due(session_factory, working) == 2
    assert delivered == ["refused", "raises"]


def test_the_back_off_doubles_up_to_an_hour():
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3)] == [10, 20, 40]
    assert retry_delay(50).total_seconds() == 3600
