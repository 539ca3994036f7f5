"""Group commit of the webhook's intake, against a real Postgres: concurrent updates share one
statement and one commit, each is answered only after that commit, a failed batch is answered
as failed for every update in it and stores none, and a redelivery is a no-op in a batch and
across batches. Transactions are counted by Postgres itself: rows inserted by one transaction
share its id (`xmin`)."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import text

from app.bot.inbox import Inbox, InboxBusyError, InboxUnavailableError
from app.server import create_app
from benchmarks.servers import free_port
from tests.alerts.conftest import served
from tests.bot.conftest import HEADERS, bot_settings
from tests.bot.test_inbox import fx_inbox, fx_make_inbox, message  # noqa: F401 (fixtures)

CONCURRENT = 40

_POISON = (
    """
    CREATE OR REPLACE FUNCTION kramar_test_poison() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.update_id = 666 THEN RAISE EXCEPTION 'poisoned row'; END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER kramar_test_poison BEFORE INSERT ON telegram_inbox
        FOR EACH ROW EXECUTE FUNCTION kramar_test_poison()
    """,
)


async def transactions(db, ids) -> int:
    """How many transactions stored the inbox rows of `ids`."""
    query = text(
        "SELECT count(DISTINCT xmin::text) FROM telegram_inbox WHERE update_id = ANY(:ids)"
    )
    async with db.connect() as conn:
        return int(await conn.scalar(query, {"ids": list(ids)}))


async def stored(db, ids) -> set[int]:
    query = text("SELECT update_id FROM telegram_inbox WHERE update_id = ANY(:ids)")
    async with db.connect() as conn:
        return set((await conn.scalars(query, {"ids": list(ids)})).all())


def served_client(settings):
    """A client of the app served by uvicorn in its own thread: requests really run at once
    (Litestar's test client handles one at a time)."""

    @asynccontextmanager
    async def client():
        with served(create_app(settings), free_port()) as base:
            async with httpx.AsyncClient(base_url=base, headers=HEADERS, timeout=30) as http:
                yield http

    return client()


@pytest.fixture(name="webhook")
async def fx_webhook(database_url, db, telegram):
    async with served_client(bot_settings(database_url, telegram)) as client:
        yield client


@pytest.fixture(name="web_replica")
async def fx_web_replica(database_url, db, telegram):
    """A web replica only: no worker claims (and so rewrites) the rows it stores."""
    settings = bot_settings(database_url, telegram)
    settings.telegram.workers = 0
    async with served_client(settings) as client:
        yield client


@pytest.fixture(name="poisoned")
async def fx_poisoned(db):
    """Inserting update 666 into the inbox fails, and the whole statement with it."""
    async with db.begin() as conn:
        for statement in _POISON:
            await conn.exec_driver_sql(statement)
    yield
    async with db.begin() as conn:
        await conn.exec_driver_sql("DROP TRIGGER kramar_test_poison ON telegram_inbox")
        await conn.exec_driver_sql("DROP FUNCTION kramar_test_poison()")


async def test_concurrent_webhook_updates_share_commits_and_each_200_follows_its_commit(
    web_replica, db
):
    ids = range(1, CONCURRENT + 1)

    async def post(update_id: int) -> tuple[int, bool]:
        update = message(update_id, 1000 + update_id, "/help")
        response = await web_replica.post("/telegram/webhook", json=update)
        assert response.status_code == 200 and response.json()["detail"] == "stored"
        # Read from another connection the moment the 200 arrives: already committed.
        return update_id, update_id in await stored(db, [update_id])

    answers = await asyncio.gather(*(post(i) for i in ids))
    assert all(visible for _, visible in answers)
    # One transaction per update before group commit (40 of 40); 2 batches here now (the
    # client itself spreads its 40 sends over some milliseconds).
    assert await transactions(db, ids) <= CONCURRENT // 4


async def test_a_failing_batch_fails_every_update_in_it_and_stores_none(db, inbox, poisoned):
    ids = [1, 2, 666, 3, 4]
    results = await asyncio.gather(
        *(inbox.put(message(i, 10 + i)) for i in ids), return_exceptions=True
    )
    assert all(isinstance(r, InboxUnavailableError) for r in results), results
    assert await stored(db, ids) == set()
    # The next batch, without the poisoned update, goes in whole.
    assert await asyncio.gather(*(inbox.put(message(i, 10 + i)) for i in (1, 2, 3))) == [True] * 3


async def test_a_poisoned_update_in_a_webhook_batch_is_503_for_all_of_it_and_stores_none(
    webhook, db, poisoned
):
    ids = [1, 2, 666, 3, 4]
    responses = await asyncio.gather(
        *(webhook.post("/telegram/webhook", json=message(i, 10 + i)) for i in ids)
    )
    answered = dict(zip(ids, (r.status_code for r in responses), strict=True))
    assert answered[666] == 503
    assert all(r.headers.get("retry-after") == "1" for r in responses if r.status_code == 503)
    # Whatever shared the poisoned update's batch was refused with it, and nothing else.
    assert await stored(db, ids) == {i for i, status in answered.items() if status == 200}


async def test_a_redelivery_is_answered_once_inside_a_batch_and_across_batches(db, inbox):
    first = await asyncio.gather(
        inbox.put(message(1, 10)), inbox.put(message(1, 10)), inbox.put(message(2, 20))
    )
    assert list(first) == [True, False, True]
    assert await inbox.put(message(1, 10)) is False
    assert await inbox.put(message(2, 20)) is False
    assert await stored(db, [1, 2]) == {1, 2}


async def test_a_concurrent_redelivery_through_the_webhook_is_answered_once(webhook, telegram):
    update = telegram.message_update(7, "/help")
    responses = await asyncio.gather(
        *(webhook.post("/telegram/webhook", json=update) for _ in range(3))
    )
    assert sorted(r.json()["detail"] for r in responses) == ["duplicate", "duplicate", "stored"]
    for _ in range(50):
        if telegram.sent(7):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    assert len(telegram.sent(7)) == 1


async def test_a_full_queue_is_refused_at_once_and_the_waiting_updates_are_stored_later(
    db, make_inbox
):
    inbox: Inbox = make_inbox(worker_id="test-busy", album_wait_seconds=0, put_max_waiting=3)
    await inbox.put(message(1, 10))  # the pool is open
    async with db.connect() as holder:
        # Another transaction holds the table: the batches wait for it, the queue fills.
        await holder.exec_driver_sql("BEGIN")
        await holder.exec_driver_sql("LOCK TABLE telegram_inbox IN EXCLUSIVE MODE")
        writing = [asyncio.create_task(inbox.put(message(i, 10 + i))) for i in (2, 3)]
        await asyncio.sleep(0.2)  # both batches in flight, blocked on the lock
        waiting = [asyncio.create_task(inbox.put(message(i, 10 + i))) for i in (4, 5, 6)]
        await asyncio.sleep(0)
        with pytest.raises(InboxBusyError):
            await inbox.put(message(7, 17))
        await holder.exec_driver_sql("ROLLBACK")
    assert await asyncio.gather(*writing, *waiting) == [True] * 5
    assert await stored(db, range(1, 8)) == {1, 2, 3, 4, 5, 6}
