"""Workers that take updates from the inbox and process them, one per chat at a time.

One `InboxWorker` per process runs up to `concurrency` chats in parallel. It claims as many
chats' next updates as it has free slots, and claims again whenever a slot frees, when the
webhook stores something new in this process (`wake()`), or every `poll_interval` seconds (for
updates other replicas stored, and for leases and back-offs that ran out).

While a turn runs, a heartbeat renews its lease every third of the lease, so a turn longer than
the lease (an album with slow model calls) is not taken over and answered twice; if the lease
is lost all the same (the database was away for a whole lease and another worker took the
update), the turn is cancelled rather than finished twice. A failure is retried only when it is
an outage (`app.bot.failures.is_transient`); a permanent one is set aside at once. Either way,
an update set aside gets `on_dead` called, which answers the customer.

Each turn counts the messages it sends in the update's row (`app.bot.delivered`), so a turn
taken again after a crash or a transient failure sends only what the earlier attempt did not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from functools import partial
from typing import TYPE_CHECKING

from app.bot import delivered
from app.bot.failures import is_transient

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
        on_dead: Callable[[Claimed], Awaitable[None]] | None = None,
    ) -> None:
        self._inbox = inbox
        self._process = process
        self._concurrency = concurrency
        self._poll = poll_interval
        self._on_outcome = on_outcome
        self._on_dead = on_dead
        self._wakeup = asyncio.Event()
        self._running: set[asyncio.Task[None]] = set()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._chats: dict[asyncio.Task[None], int] = {}
        """The chat of each running turn: not claimed again while it runs."""

    def wake(self) -> None:
        """Something new is in the inbox: claim now instead of at the next poll."""
        self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="inbox-worker")

    async def stop(self, grace: float = 10.0) -> None:
        """Stop claiming, let running updates finish for `grace` seconds, give the rest back.

        Bounded whatever the tasks do: a task that does not end within `grace` of being
        cancelled (a driver call that ignores its cancellation was seen once: a claim's query
        waited on a connection Postgres had already answered) is left behind with a warning,
        so a shutdown never hangs; its lease runs out and the update is taken again."""
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            _, stuck = await asyncio.wait({self._task}, timeout=grace)
            if stuck:
                logger.warning("the claim loop did not stop within %.0f s; left behind", grace)
        if self._running:
            _, late = await asyncio.wait(self._running, timeout=grace)
            for task in late:
                task.cancel()
            if late:
                _, stuck = await asyncio.wait(late, timeout=grace)
                if stuck:
                    logger.warning(
                        "%d turns did not stop within %.0f s; left behind", len(stuck), grace
                    )

    async def _loop(self) -> None:
        while True:
            self._wakeup.clear()
            free = self._concurrency - len(self._running)
            claimed: list[Claimed] = []
            if free > 0:
                try:
                    claimed = await self._inbox.claim(free, busy=set(self._chats.values()))
                except Exception:  # the database is down: keep trying, the updates are safe
                    logger.exception("claiming from the inbox failed; retrying")
            for work in claimed:
                task = asyncio.create_task(self._run(work), name=f"update-{work.update_ids[0]}")
                self._running.add(task)
                self._chats[task] = work.chat_key
                task.add_done_callback(self._finished)
            if claimed and len(claimed) == free:
                continue  # more may be waiting: fill the slots before sleeping
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._chats.pop(task, None)
        if not self._stopping:
            self._wakeup.set()

    async def _run(self, work: Claimed) -> None:
        started = time.perf_counter()
        turn = asyncio.current_task()
        assert turn is not None
        lost = asyncio.Event()
        heartbeat = asyncio.create_task(self._heartbeat(work, turn, lost), name="lease-heartbeat")

        def lease_lost() -> None:  # a send found the lease gone: send nothing more
            lost.set()
            turn.cancel()

        sends = delivered.TurnSends(
            partial(self._inbox.sent, work), already=work.replies_sent, lost=lease_lost
        )
        try:
            await self._counted(work, sends)
        except asyncio.CancelledError:
            if not lost.is_set():
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._inbox.release(work))
                raise
            turn.uncancel()  # cancelled by our own heartbeat: another worker has the update
            logger.error("update %s: lease lost mid-turn; turn abandoned", work.update_ids[0])
            self._report(work, "lease_lost", started)
            return
        except Exception as error:
            await self._failed(work, error, started)
            return
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        held = await self._mark_done(work)
        if held is None:
            return
        self._report(work, "ok" if held else "lease_lost", started)

    async def _counted(self, work: Claimed, sends: delivered.TurnSends) -> None:
        """The turn, its messages counted; what follows it (an apology for an update set
        aside) is no message of the turn."""
        recording = delivered.begin(sends)
        try:
            await self._process(work)
        finally:
            delivered.end(recording)

    async def _mark_done(self, work: Claimed) -> bool | None:
        """Mark `work` done, retrying while the database is away: the replies are out, and an
        update whose lease runs out unmarked is taken again and answered twice. The lease token
        still fences it: once another worker has taken the update, marking changes nothing.
        None: not marked within ten leases (the update runs again; orders are idempotent)."""
        deadline = time.monotonic() + 10 * self._inbox.lease_seconds
        pause = 0.1
        while True:
            try:
                return await self._inbox.done(work)
            except Exception:
                if self._stopping or time.monotonic() + pause > deadline:
                    logger.exception("could not mark update %s done", work.update_ids[0])
                    return None
                logger.warning("could not mark update %s done; retrying", work.update_ids[0])
            await asyncio.sleep(pause)
            pause = min(pause * 2, 1.0)

    async def _failed(self, work: Claimed, error: Exception, started: float) -> None:
        permanent = not is_transient(error)
        logger.error(
            "update %s failed (attempt %d of %d, %s)",
            work.update_ids[0],
            work.attempts,
            self._inbox.max_attempts,
            "permanent: set aside" if permanent else "transient: retried",
            exc_info=error,
        )
        try:
            outcome = await self._inbox.failed(
                work, f"{type(error).__name__}: {error}", permanent=permanent
            )
        except Exception:
            logger.exception("could not record the failure; the lease will expire")
            return
        if outcome == "dead" and self._on_dead is not None:
            try:
                await self._on_dead(work)
            except Exception:
                logger.exception("could not tell chat %s about its failed update", work.chat_key)
        labels = {"dead": "poisoned", "retry": "error", "lost": "lease_lost"}
        self._report(work, labels[outcome], started)

    async def _heartbeat(
        self, work: Claimed, turn: asyncio.Task[None], lost: asyncio.Event
    ) -> None:
        """Renew `work`'s lease every third of it; cancel `turn` if the lease was lost."""
        interval = self._inbox.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            try:
                held = await self._inbox.renew(work)
            except Exception:  # the database is away: the lease still has two thirds to go
                logger.warning("could not renew the lease of update %s", work.update_ids[0])
                continue
            if not held:
                lost.set()
                turn.cancel()
                return

    def _report(self, work: Claimed, outcome: str, started: float) -> None:
        if self._on_outcome is not None:
            self._on_outcome(work, outcome, time.perf_counter() - started)
