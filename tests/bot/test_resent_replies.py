"""A turn taken again (its worker died, its lease ran out, an outage failed it) sends only the
messages the earlier attempt did not: each message sent is recorded on the inbox row."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from app.bot.flood import FloodLimiter
from app.bot.inbox import Inbox
from app.bot.sender import Sender
from app.bot.worker import InboxWorker
from tests.bot.test_inbox import message

CHAT = 10
REPLIES = ("один", "два", "три")


@pytest.fixture(name="sender")
async def fx_sender(telegram):
    bot = telegram.bot()
    yield Sender(bot, FloodLimiter(None, per_chat=0, overall=0))
    await bot.session.close()


def texts(telegram) -> list[str]:
    return [m.text or "" for m in telegram.sent(CHAT)]


async def until(condition, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_a_turn_retried_after_an_outage_does_not_send_its_first_replies_again(
    db, telegram, sender
):
    inbox = Inbox(db, worker_id="w", max_attempts=3, album_wait_seconds=0)
    inbox._backoff = 0.05

    async def process(work):
        for index, reply in enumerate(REPLIES):
            if index == 2 and work.attempts == 1:
                raise ConnectionRefusedError("the model went away mid-turn")
            await sender.send_text(CHAT, reply)

    worker = InboxWorker(inbox, process, poll_interval=0.05)
    await inbox.put(message(1, CHAT))
    worker.start()
    try:
        await until(lambda: "три" in texts(telegram))
        await asyncio.sleep(0.2)
    finally:
        await worker.stop()
        await inbox.close()
    assert texts(telegram) == list(REPLIES)  # was один, два, один, два, три
    async with db.connect() as conn:
        row = (await conn.execute(text("SELECT status, replies_sent FROM telegram_inbox"))).one()
    assert tuple(row) == ("done", 3)


async def test_a_turn_taken_over_after_its_lease_ran_out_sends_only_the_rest(db, telegram, sender):
    """The first worker stalls after two of three replies (as if killed) and its lease runs
    out; the worker that takes the update sends the third only, and the stalled one, finding
    its lease gone, sends nothing more."""
    stalled = asyncio.Event()
    first = Inbox(db, worker_id="first", lease_seconds=3, album_wait_seconds=0)
    second = Inbox(db, worker_id="second", lease_seconds=3, album_wait_seconds=0)

    async def process(work):
        for index, reply in enumerate(REPLIES):
            if index == 2 and work.attempts == 1:
                await stalled.wait()  # never set: the process is as good as dead
            await sender.send_text(CHAT, reply)

    workers = [InboxWorker(first, process, poll_interval=0.05)]
    await first.put(message(1, CHAT))
    workers[0].start()
    try:
        await until(lambda: len(texts(telegram)) == 2)
        # Both recorded: a message delivered and not yet recorded when the process dies is
        # the one that may still go out twice.
        for _ in range(100):
            async with db.connect() as conn:
                if await conn.scalar(text("SELECT replies_sent FROM telegram_inbox")) == 2:
                    break
            await asyncio.sleep(0.02)
        async with db.begin() as conn:  # the lease runs out (a SIGKILL: nothing renews it)
            await conn.execute(text("UPDATE telegram_inbox SET locked_until = now()"))
        workers.append(InboxWorker(second, process, poll_interval=0.05))
        workers[1].start()
        await until(lambda: "три" in texts(telegram))
        await asyncio.sleep(1.5)  # the first worker's heartbeat finds its lease gone
    finally:
        for worker in workers:
            await worker.stop(grace=0.5)
        await first.close()
        await second.close()
    assert texts(telegram) == list(REPLIES)  # was один, два, один, два, три
    async with db.connect() as conn:
        row = (
            await conn.execute(text("SELECT status, attempts, replies_sent FROM telegram_inbox"))
        ).one()
    assert tuple(row) == ("done", 2, 3)


async def test_a_message_telegram_refused_is_counted_so_the_rest_are_not_sent_twice(
    db, telegram, sender
):
    """Counting only the messages that went through would skip the wrong ones on the retry:
    the refused one is counted as done with (and not tried again)."""
    inbox = Inbox(db, worker_id="w", max_attempts=3, album_wait_seconds=0)
    inbox._backoff = 0.05

    async def process(work):
        await sender.send_text(CHAT, "один")
        if work.attempts == 1:
            telegram.fail("sendMessage", 400, description="Bad Request: message is too odd")
        await sender.send_text(CHAT, "два")
        await sender.send_text(CHAT, "три")
        if work.attempts == 1:
            raise ConnectionRefusedError("the model went away mid-turn")
        await sender.send_text(CHAT, "чотири")

    worker = InboxWorker(inbox, process, poll_interval=0.05)
    await inbox.put(message(1, CHAT))
    worker.start()
    try:
        await until(lambda: "чотири" in texts(telegram))
        await asyncio.sleep(0.2)
    finally:
        await worker.stop()
        await inbox.close()
    assert texts(telegram) == ["один", "три", "чотири"]
