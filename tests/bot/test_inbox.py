"""The durable inbox against a real Postgres: dedup, per-chat order, leases, albums, poison."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.bot.inbox import Inbox, chat_key, update_kind
from app.bot.worker import InboxWorker


def message(update_id: int, chat: int, text: str = "привіт", **extra):
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": False, "first_name": "Оля"},
            "text": text,
            **extra,
        },
    }


def album_part(update_id: int, chat: int, group: str):
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat, "type": "private"},
            "media_group_id": group,
            "photo": [
                {
                    "file_id": f"f{update_id}",
                    "file_unique_id": f"u{update_id}",
                    "width": 90,
                    "height": 90,
                }
            ],
        },
    }


@pytest.fixture(name="make_inbox")
async def fx_make_inbox(db):
    """Inboxes on the test database (each like one app process), closed after the test."""
    made: list[Inbox] = []

    def make(**options) -> Inbox:
        made.append(Inbox(db, **options))
        return made[-1]

    yield make
    for inbox in made:
        await inbox.close()


@pytest.fixture(name="inbox")
def fx_inbox(make_inbox) -> Inbox:
    inbox: Inbox = make_inbox(
        worker_id="test-1", lease_seconds=60, max_attempts=3, album_wait_seconds=0
    )
    return inbox


async def test_a_redelivered_update_is_stored_once(inbox):
    assert await inbox.put(message(1, 10)) is True
    assert await inbox.put(message(1, 10)) is False
    assert [c.update_ids for c in await inbox.claim(10)] == [[1]]


async def test_one_chat_waits_for_its_earlier_update_while_other_chats_go_on(inbox):
    for update_id, chat in [(1, 10), (2, 10), (3, 20), (4, 10)]:
        await inbox.put(message(update_id, chat))
    first = await inbox.claim(10)
    assert sorted(c.update_ids[0] for c in first) == [1, 3]
    assert await inbox.claim(10) == []  # chat 10's next waits for update 1
    await inbox.done(next(c for c in first if c.chat_key == 10))
    assert [c.update_ids for c in await inbox.claim(10)] == [[2]]


async def test_a_second_worker_never_takes_a_leased_update(make_inbox, inbox):
    other = make_inbox(worker_id="test-2", lease_seconds=60)
    await inbox.put(message(1, 10))
    results = await asyncio.gather(inbox.claim(5), other.claim(5))
    assert sorted(len(r) for r in results) == [0, 1]


async def test_an_expired_lease_makes_the_update_available_again(make_inbox):
    crashed = make_inbox(worker_id="crashed", lease_seconds=0.2)
    await crashed.put(message(1, 10))
    assert len(await crashed.claim(1)) == 1
    survivor = make_inbox(worker_id="survivor", lease_seconds=60)
    assert await survivor.claim(1) == []
    await asyncio.sleep(0.3)
    [again] = await survivor.claim(1)
    assert again.update_ids == [1] and again.attempts == 2


async def test_an_album_is_claimed_as_one_unit_after_the_wait(make_inbox):
    inbox = make_inbox(worker_id="w", album_wait_seconds=0.3)
    for update_id in (5, 6, 7):
        await inbox.put(album_part(update_id, 10, "g1"))
    assert await inbox.claim(5) == []  # still gathering
    await asyncio.sleep(0.35)
    [album] = await inbox.claim(5)
    assert album.update_ids == [5, 6, 7] and album.kind == "album"


async def test_a_poison_update_is_set_aside_and_unblocks_its_chat(db, inbox):
    await inbox.put(message(1, 10))
    await inbox.put(message(2, 10))
    for attempt in range(1, 4):
        async with db.begin() as conn:  # skip the back-off
            await conn.execute(text("UPDATE telegram_inbox SET available_at = now()"))
        [work] = await inbox.claim(1)
        assert work.update_ids == [1] and work.attempts == attempt
        dead = await inbox.failed(work, "ValueError: boom")
    assert dead is True
    assert [c.update_ids for c in await inbox.claim(1)] == [[2]]
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text("SELECT status, last_error FROM telegram_inbox WHERE update_id = 1")
            )
        ).one()
    assert tuple(row) == ("dead", "ValueError: boom")


async def test_stats_report_the_backlog(inbox):
    assert await inbox.stats() == (0, 0.0)
    await inbox.put(message(1, 10))
    count, age = await inbox.stats()
    assert count == 1 and age >= 0


async def test_worker_processes_chats_in_order_and_in_parallel(db, inbox):
    seen: list[tuple[int, int]] = []
    running: set[int] = set()
    overlap = []

    async def process(work):
        assert work.chat_key not in running, "one chat ran twice at once"
        running.add(work.chat_key)
        overlap.append(len(running))
        await asyncio.sleep(0.02)
        seen.append((work.chat_key, work.update_ids[0]))
        running.discard(work.chat_key)

    worker = InboxWorker(inbox, process, concurrency=4, poll_interval=0.05)
    worker.start()
    update_id = 0
    for _ in range(5):
        for chat in (10, 20, 30):
            update_id += 1
            await inbox.put(message(update_id, chat))
            worker.wake()
    for _ in range(200):
        if len(seen) == 15:
            break
        await asyncio.sleep(0.02)
    await worker.stop()
    for chat in (10, 20, 30):
        ids = [u for c, u in seen if c == chat]
        assert ids == sorted(ids) and len(ids) == 5
    assert max(overlap) > 1, "different chats should run in parallel"


def test_kinds_and_chat_keys():
    assert update_kind(message(1, 5, "/start")) == "command"
    assert update_kind(album_part(1, 5, "g")) == "album"
    assert (
        update_kind({"update_id": 9, "callback_query": {"id": "1", "from": {"id": 7}}})
        == "callback"
    )
    assert chat_key({"update_id": 9, "callback_query": {"id": "1", "from": {"id": 7}}}) == 7
    assert chat_key({"update_id": 9, "poll": {}}) == -9


async def test_a_stored_update_wakes_a_listener_in_another_connection(db, inbox):
    from app.bot.inbox import listen

    woken = asyncio.Event()
    task = asyncio.create_task(listen(db, woken.set))
    try:
        await asyncio.sleep(0.3)  # connected and listening
        await inbox.put(message(1, 10))
        await asyncio.wait_for(woken.wait(), 5)
        woken.clear()
        await inbox.put(message(1, 10))  # a duplicate wakes nobody
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(woken.wait(), 0.3)
    finally:
        task.cancel()


async def test_a_database_outage_is_reported_not_swallowed(postgres):
    from app.bot.inbox import InboxUnavailableError
    from app.config import DatabaseSettings
    from app.db.engine import create_engine

    gone = create_engine(postgres.database_url("no_such_database"), DatabaseSettings())
    try:
        with pytest.raises(InboxUnavailableError):
            await Inbox(gone, worker_id="x").put(message(1, 10))
    finally:
        await gone.dispose()
