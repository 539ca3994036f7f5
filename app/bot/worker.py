"""Workers that take updates from the inbox and process them, one per chat at a time.

One `InboxWorker` per process runs up to `concurrency` chats in parallel. It claims as many
chats' next updates as it has free slots, and claims again whenever a slot frees, when the
webhook stores something new in this process (`wake()`), or every `poll_interval` seconds (for
updates other replicas stored, and for leases and back-offs that ran out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.bot.inbox import Claimed, Inbox

logger = logging.getLogger(__name__)


class InboxWorker:
    def __init__(
        self,
        inbox: Inbox,
        process: Callable[[Claimed], Awaitable[None]],
        *,
        concurrency: int = 8,
        poll_interval: float = 1.0,
        on_outcome: Callable[[Claimed, str, float], None] | None = None,
    ) -> None:
        self._inbox = inbox
        self._process = process
        self._concurrency = concurrency
        self._poll = poll_interval
        self._on_outcome = on_outcome
        self._wakeup = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def wake(self) -> None:
        """Something new is in the inbox: claim now instead of at the next poll."""
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="inbox-worker")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let running updates finish for `grace` seconds, give the rest back."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._running:
            _, late = await asyncio.wait(self._running, timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            self._wakeup.clear()
            free = self._concurrency - len(self._running)
            claimed: list[Claimed] = []
            if free > 0:
                try:
                    claimed = await self._inbox.claim(free)
                except Exception:  # the database is down: keep trying, the updates are safe
                    logger.exception("claiming from the inbox failed; retrying")
            for work in claimed:
                task = asyncio.create_task(self._run(work), name=f"update-{work.update_ids[0]}")
                self._running.add(task)
                task.add_done_callback(self._finished)
            if claimed and len(claimed) == free:
                continue  # more may be waiting: fill the slots before sleeping
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if not self._stopping:
            self._wakeup.set()

    async def _run(self, work: Claimed) -> None:
        started = time.perf_counter()
        try:
            await self._process(work)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._inbox.release(work))
            raise
        except Exception as error:
            logger.exception(
                "update %s failed (attempt %d of %d)",
                work.update_ids[0],
                work.attempts,
                self._inbox.max_attempts,
            )
            try:
                dead = await self._inbox.failed(work, f"{type(error).__name__}: {error}")
            except Exception:
                logger.exception("could not record the failure; the lease will expire")
                return
            self._report(work, "poisoned" if dead else "error", started)
            return
        try:
            await self._inbox.done(work)
        except Exception:
            # Processed but not marked: the lease runs out and it runs again. Handlers with
            # effects are idempotent (orders by update id) for exactly this case.
            logger.exception("could not mark update %s done", work.update_ids[0])
            return
        self._report(work, "ok", started)

    def _report(self, work: Claimed, outcome: str, started: float) -> None:
        if self._on_outcome is not None:
            self._on_outcome(work, outcome, time.perf_counter() - started)
