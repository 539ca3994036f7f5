"""Group commit: writes submitted while a batch is being written wait, and go together in the next.

Under a burst, one statement and one commit carry every update that arrived meanwhile, so the
cost per update falls as the load rises instead of queueing for a pool of connections. Each
caller still gets its own answer only after its batch is written, and a batch that fails fails
every caller in it (none is answered as written when it was not). The queue is bounded: past
`max_waiting` a caller is refused at once (`GroupCommitFullError`) instead of memory growing.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

T = TypeVar("T")
R = TypeVar("R")


class GroupCommitFullError(Exception):
    """More writes are waiting than the queue holds; try again shortly."""


class GroupCommit(Generic[T, R]):
    """`await submit(item)` is the result `write` gave for `item` in the batch it went in.

    `write(items)` writes a batch and returns one result per item, in order: a value, or an
    exception for that item alone. If it raises, every item of the batch gets that exception.
    At most `concurrency` batches are written at once, each of at most `max_batch` items.
    """

    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[list[R | Exception]]],
        *,
        max_batch: int,
        max_waiting: int,
        concurrency: int = 1,
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._max_waiting = max_waiting
        self._concurrency = concurrency
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writers: set[asyncio.Task[None]] = set()
        self.batches = 0
        """Batches written so far (for tests and metrics)."""

    @property
    def waiting(self) -> int:
        """Items not yet in a batch being written."""
        return len(self._waiting)

    async def submit(self, item: T) -> R:
        if len(self._waiting) >= self._max_waiting:
            raise GroupCommitFullError(f"{len(self._waiting)} writes waiting")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if len(self._writers) < self._concurrency:
            writer = asyncio.create_task(self._drain(), name="group-commit")
            self._writers.add(writer)
            writer.add_done_callback(self._writers.discard)
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            # A caller that gave up (its request was cancelled) before its batch left is
            # skipped; one cancelled later is still written (a redelivery is a no-op).
            taken = self._waiting[: self._max_batch]
            del self._waiting[: self._max_batch]
            batch = [(item, future) for item, future in taken if not future.done()]
            if not batch:
                continue
            self.batches += 1
            try:
                results = await self._write([item for item, _ in batch])
            except Exception as error:  # every caller of the batch learns of it
                results = [error] * len(batch)
            except BaseException:  # cancelled (shutdown): no caller is left waiting forever
                for _, future in batch:
                    future.cancel()
                raise
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    async def close(self) -> None:
        """Wait until every batch submitted so far is written."""
        while self._writers:
            await asyncio.gather(*self._writers, return_exceptions=True)
