"""Per-key single flight: concurrent callers asking for the same key share one load."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SingleFlight(Generic[K, V]):
    """Runs at most one load per key at a time; callers that arrive meanwhile await its result.

    The load runs in a task of its own: a caller that is cancelled stops waiting, but the load
    goes on for the others (and finishes even if every caller left, so its result is not wasted).
    An exception reaches every waiter and is not remembered: the next call loads again.
    """

    def __init__(self) -> None:
        self._flights: dict[K, asyncio.Task[V]] = {}

    def __len__(self) -> int:
        """Loads in flight."""
        return len(self._flights)

    async def do(self, key: K, load: Callable[[], Awaitable[V]]) -> V:
        """The result of `load()`, shared with every concurrent caller of the same `key`."""
        task = self._flights.get(key)
        if task is None:
            task = asyncio.create_task(_await(load), name=f"singleflight:{key!r}")
            self._flights[key] = task
            task.add_done_callback(lambda done: self._landed(key, done))
        # shield: cancelling this caller must not cancel the load the others wait for.
        return await asyncio.shield(task)

    def _landed(self, key: K, task: asyncio.Task[V]) -> None:
        if self._flights.get(key) is task:
            del self._flights[key]
        if not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it when every caller left


async def _await(load: Callable[[], Awaitable[V]]) -> V:
    return await load()
