"""Retention: processed updates (names, phones, file ids) go after 30 days, dead ones later."""

from __future__ import annotations

import asyncio
import json

from litestar.testing import AsyncTestClient
from sqlalchemy import text

from app.bot.inbox import Inbox
from app.server import create_app
from tests.bot.conftest import bot_settings


async def add_row(db, update_id: int, status: str, days_ago: float, *, processed=True):
    payload = {"update_id": update_id, "message": {"text": "+380501234567"}}
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO telegram_inbox (update_id, chat_key, kind, payload, status, attempts,"
                " received_at, available_at, processed_at)"
                " VALUES (:id, 7, 'message', CAST(:payload AS jsonb), :status, 1,"
                " now() - make_interval(days => :days), now(),"
                " CASE WHEN :processed THEN now() - make_interval(days => :days) END)"
            ),
            {
                "id": update_id,
                "payload": json.dumps(payload),
                "status": status,
                "days": days_ago,
                "processed": processed,
            },
        )


async def add_rejected(db, days_ago: float):
    async with db.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO telegram_rejected (update_id, reason, body, received_at)"
                " VALUES ('1', 'test', '{}', now() - make_interval(days => :days))"
            ),
            {"days": days_ago},
        )


async def remaining(db) -> tuple[list[int], int]:
    async with db.connect() as conn:
        ids = (await conn.scalars(text("SELECT update_id FROM telegram_inbox ORDER BY 1"))).all()
        rejected = await conn.scalar(text("SELECT count(*) FROM telegram_rejected"))
    return list(ids), int(rejected or 0)


async def test_processed_rows_go_after_their_days_and_dead_ones_are_kept_longer(db):
    await add_row(db, 1, "done", 31)
    await add_row(db, 2, "done", 29)
    await add_row(db, 3, "dead", 31)
    await add_row(db, 4, "dead", 91)
    await add_row(db, 5, "dead", 91, processed=False)  # set aside before processed_at existed
    await add_row(db, 6, "pending", 200, processed=False)  # never deleted while pending
    await add_rejected(db, 91)
    await add_rejected(db, 10)
    inbox = Inbox(db, worker_id="t")

    deleted = await inbox.purge(done_days=30, dead_days=90)

    assert deleted == {"done": 1, "dead": 2, "rejected": 1}
    assert await remaining(db) == ([2, 3, 6], 1)


async def test_replicas_purging_at_once_delete_each_row_once(db):
    async with db.begin() as conn:  # 2,500 old processed rows: three batches' worth
        await conn.execute(
            text(
                "INSERT INTO telegram_inbox (update_id, chat_key, kind, payload, status, attempts,"
                " processed_at) SELECT g, 7, 'message', '{}'::jsonb, 'done', 1,"
                " now() - interval '40 days' FROM generate_series(1, 2500) g"
            )
        )
    replicas = [Inbox(db, worker_id=f"r{n}") for n in range(3)]
    results = await asyncio.gather(*(r.purge(done_days=30, dead_days=90) for r in replicas))
    assert sum(r["done"] for r in results) == 2500
    assert await remaining(db) == ([], 0)


async def test_the_running_bot_purges_old_rows_at_start(database_url, db, telegram):
    await add_row(db, 1, "done", 45)
    await add_row(db, 2, "done", 1)
    settings = bot_settings(database_url, telegram)
    settings.telegram = settings.telegram.model_copy(update={"retention_days": 30})
    async with AsyncTestClient(create_app(settings)):
        for _ in range(100):
            if (await remaining(db))[0] == [2]:
                break
            await asyncio.sleep(0.05)
    assert (await remaining(db))[0] == [2]
