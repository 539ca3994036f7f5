"""The durable inbox against a real Postgres: dedup, per-chat order, leases, albums, poison."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.bot.inbox import PUT_POOL_SIZE, Inbox, chat_key, update_kind
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


async def test_a_burst_on_a_fresh_inbox_opens_one_pool_of_connections(db, inbox):
    # Forty webhook requests at once, the first of the process: they must share one pool.
    await asyncio.gather(*(inbox.put(message(n, 1000 + n)) for n in range(1, 41)))
    async with db.connect() as conn:
        webhook = (
            await conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = 'kramar-webhook' AND datname = current_database()"
                )
            )
        ).scalar()
    assert webhook <= PUT_POOL_SIZE


async def test_a_connection_still_held_cannot_hold_up_the_shutdown(db, inbox):
    # asyncpg's Pool.close() waits for every connection to come back, however long; a shutdown
    # must end anyway (Kubernetes would SIGKILL the pod mid-write otherwise).
    await inbox.put(message(1, 10))
    await (await inbox._put_pool()).acquire()  # never given back

    await asyncio.wait_for(inbox.close(grace=0.3), 5)

    await asyncio.sleep(0.2)  # the server sees the sockets go
    async with db.connect() as conn:
        left = await conn.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = 'kramar-webhook' AND datname = current_database()"
            )
        )
    assert left == 0


async def test_handing_a_webhook_connection_back_costs_no_round_trip(db, inbox):
    # asyncpg resets a connection given back to its pool with one more query (RESET ALL and
    # friends), a round trip on every acknowledgement's path; the webhook's connections keep no
    # session state, so the INSERT is the last thing each of them ran.
    for update_id in range(1, 6):
        await inbox.put(message(update_id, 10 + update_id))
    async with db.connect() as conn:
        last = (
            await conn.scalars(
                text(
                    "SELECT query FROM pg_stat_activity WHERE application_name = 'kramar-webhook'"
                    " AND datname = current_database()"
                )
            )
        ).all()
    assert last
    assert all("INSERT INTO telegram_inbox" in query for query in last), last


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
        outcome = await inbox.failed(work, "ValueError: boom")
    assert outcome == "dead"
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


async def test_a_stale_worker_cannot_free_finish_or_renew_an_update_another_worker_holds(
    db, make_inbox
):
    stale = make_inbox(worker_id="stale", lease_seconds=0.2, max_attempts=5)
    await stale.put(message(1, 10))
    [mine] = await stale.claim(1)
    await asyncio.sleep(0.3)  # the lease runs out while the stale worker still works on it
    current = make_inbox(worker_id="current", lease_seconds=60)
    [theirs] = await current.claim(1)

    assert await stale.failed(mine, "RuntimeError: too late") == "lost"
    assert await stale.done(mine) is False
    assert await stale.renew(mine) is False
    assert await stale.release(mine) is False

    third = make_inbox(worker_id="third", lease_seconds=60)
    assert await third.claim(1) == []  # still leased to `current`
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT status, locked_by, last_error, locked_until > now() AS leased"
                    " FROM telegram_inbox WHERE update_id = 1"
                )
            )
        ).one()
    assert tuple(row) == ("pending", "current", None, True)
    assert await current.done(theirs) is True


async def test_the_same_worker_id_is_fenced_by_the_claims_token(make_inbox):
    # Two claims by one process (same worker id): the first claim's token no longer holds.
    inbox = make_inbox(worker_id="proc", lease_seconds=0.2)
    await inbox.put(message(1, 10))
    [first] = await inbox.claim(1)
    await asyncio.sleep(0.3)
    [second] = await inbox.claim(1)
    assert first.lease_token != second.lease_token
    assert await inbox.done(first) is False
    assert await inbox.done(second) is True


async def test_a_turn_longer_than_the_lease_is_not_taken_over_by_another_worker(db, make_inbox):
    runs: list[str] = []

    def processor(name):
        async def process(work):
            runs.append(name)
            await asyncio.sleep(1.6)  # four times the lease

        return process

    workers = []
    for name in ("a", "b"):
        inbox = make_inbox(worker_id=name, lease_seconds=0.4, album_wait_seconds=0)
        workers.append(InboxWorker(inbox, processor(name), concurrency=2, poll_interval=0.05))
    await workers[0]._inbox.put(message(1, 10))
    for worker in workers:
        worker.start()
    try:
        await asyncio.sleep(2.4)
    finally:
        for worker in workers:
            await worker.stop()
    assert len(runs) == 1, runs
    async with db.connect() as conn:
        status = await conn.scalar(text("SELECT status FROM telegram_inbox WHERE update_id = 1"))
    assert status == "done"


async def test_a_permanent_failure_is_set_aside_at_once_and_answered(db, inbox):
    calls: list[int] = []
    told: list[int] = []

    async def process(work):
        calls.append(work.attempts)
        raise ValueError("a bug, not an outage")

    async def on_dead(work):
        told.append(work.update_ids[0])

    worker = InboxWorker(inbox, process, poll_interval=0.05, on_dead=on_dead)
    await inbox.put(message(1, 10))
    await inbox.put(message(2, 10))
    worker.start()
    for _ in range(100):
        if len(told) == 2:
            break
        await asyncio.sleep(0.05)
    await worker.stop()
    assert calls == [1, 1] and told == [1, 2]  # no retries; the chat's next update went on
    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text("SELECT status, attempts, processed_at IS NOT NULL FROM telegram_inbox")
            )
        ).all()
    assert [tuple(r) for r in rows] == [("dead", 1, True), ("dead", 1, True)]


async def test_an_outage_is_retried_with_back_off(db, make_inbox):
    inbox = make_inbox(worker_id="w", max_attempts=3, album_wait_seconds=0)
    inbox._backoff = 0.05
    calls: list[int] = []
    told: list[int] = []

    async def process(work):
        calls.append(work.attempts)
        if work.attempts < 3:
            raise ConnectionRefusedError("database restarting")

    async def on_dead(work):
        told.append(work.update_ids[0])

    worker = InboxWorker(inbox, process, poll_interval=0.05, on_dead=on_dead)
    await inbox.put(message(1, 10))
    worker.start()
    for _ in range(100):
        if len(calls) == 3:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.1)
    await worker.stop()
    assert calls == [1, 2, 3] and told == []
    async with db.connect() as conn:
        assert await conn.scalar(text("SELECT status FROM telegram_inbox")) == "done"


async def test_text_messages_sent_while_a_turn_runs_are_claimed_as_one_burst(make_inbox):
    """Every extra message was its own turn: "ало?" after a question got an answer of its own."""
    inbox = make_inbox(worker_id="w", burst_max=3, album_wait_seconds=0)
    await inbox.put(message(1, 10, "скільки коштує доставка?"))
    [running] = await inbox.claim(5)
    for update_id, said in [(2, "ало?"), (3, "а оплата?"), (4, "є хто?"), (5, "ну")]:
        await inbox.put(message(update_id, 10, said))
    assert await inbox.claim(5) == []  # the chat's turn still runs
    await inbox.done(running)

    [burst] = await inbox.claim(5)
    assert burst.update_ids == [2, 3, 4] and burst.kind == "message"  # burst_max: 3
    await inbox.done(burst)
    assert [c.update_ids for c in await inbox.claim(5)] == [[5]]


async def test_a_burst_stops_at_anything_but_text_and_never_joins_a_group(make_inbox):
    inbox = make_inbox(worker_id="w", burst_max=10, album_wait_seconds=0)
    await inbox.put(message(1, 10, "шукаю худі"))
    await inbox.put(message(2, 10, "ось таке", photo=[]))
    await inbox.put(message(3, 10, "чорне"))
    for update_id in (4, 5):  # the managers' chat: each reply is its own
        reply = message(update_id, -100, "так")
        reply["message"]["chat"]["type"] = "supergroup"
        await inbox.put(reply)

    claimed = {c.chat_key: c.update_ids for c in await inbox.claim(5)}
    assert claimed == {10: [1], -100: [4]}
