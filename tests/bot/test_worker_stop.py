"""Stopping the inbox workers is bounded, whatever a claim or a turn does when cancelled."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from app.bot.inbox import Inbox
from app.bot.worker import InboxWorker
from tests.bot.test_inbox import message

if TYPE_CHECKING:
    from collections.abc import Collection

    from app.bot.inbox import Claimed


async def deaf(release: asyncio.Event) -> None:
    """Wait for `release`, ignoring every cancellation meanwhile (as a driver call once did:
    it waited on a reply that had come), then end as cancelled if it was."""
    cancelled = False
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError


class DeafInbox(Inbox):
    """An inbox whose claim does not hear its cancellation until `heard` is set."""

    heard = asyncio.Event()

    async def claim(self, limit: int, busy: Collection[int] = ()) -> list[Claimed]:
        await deaf(self.heard)
        return []


async def test_a_claim_that_ignores_its_cancellation_cannot_hold_up_the_shutdown(db):
    inbox = DeafInbox(db, worker_id="w")
    inbox.heard = asyncio.Event()
    worker = InboxWorker(inbox, lambda work: asyncio.sleep(0), poll_interval=0.05)
    worker.start()
    await asyncio.sleep(0.1)  # the claim loop is inside its claim now
    await asyncio.wait_for(worker.stop(grace=0.2), timeout=5)
    inbox.heard.set()
    await asyncio.sleep(0.1)
    await inbox.close()


async def test_a_turn_that_ignores_its_cancellation_cannot_hold_up_the_shutdown(db):
    inbox = Inbox(db, worker_id="w", album_wait_seconds=0)
    started, release = asyncio.Event(), asyncio.Event()

    async def deaf_turn(work: Claimed) -> None:
        started.set()
        await deaf(release)

    worker = InboxWorker(inbox, deaf_turn, poll_interval=0.05)
    await inbox.put(message(1, 10))
    worker.start()
    await asyncio.wait_for(started.wait(), timeout=10)
    await asyncio.wait_for(worker.stop(grace=0.2), timeout=5)
    release.set()
    await asyncio.sleep(0.2)
    await inbox.close()
