"""Keeps the bot under Telegram's flood limits: about 1 message/s per chat, 30/s overall.

A "next free slot" scheduler: each key (one per chat, one global) holds the earliest time its
next message may go; taking a slot waits `max(0, next - now)` and moves `next` to
`max(now, next) + interval`. With Redis every replica shares the slots (an atomic Lua script on
Redis's clock, so replicas' clocks need not agree); without it, or while Redis fails, the same
scheduler runs in-process, so a Redis outage slows nothing down and blocks nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger(__name__)

# KEYS[1]: the key to take a slot from; ARGV[1]: its interval (µs).
# KEYS[2], optional: a chat whose next slot moves to at least this slot + ARGV[2] (µs).
# Returns the wait in µs. Integers in µs: Lua numbers are doubles, exact to 2^53.
_TAKE_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local next = slot + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%d', next), 'PX', math.floor((next - now) / 1000) + 1)
if KEYS[2] then
  local after = slot + tonumber(ARGV[2])
  if after > tonumber(redis.call('GET', KEYS[2]) or '0') then
    local ttl = math.floor((after - now) / 1000) + 1
    redis.call('SET', KEYS[2], string.format('%d', after), 'PX', ttl)
  end
end
return slot - now
"""

# KEYS[1]: a chat; ARGV[1]: µs from now before which nothing may go to it (a 429's retry_after).
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local until_ = now + tonumber(ARGV[1])
if until_ > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], string.format('%d', until_), 'PX', math.floor(ARGV[1] / 1000) + 1)
end
return 0
"""


class LocalSlots:
    """The scheduler in one process; no lock needed, as taking a slot never awaits."""

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    def take(self, key: str, interval: float, push: str | None = None, push_by: float = 0) -> float:
        """Seconds to wait for `key`'s slot; see `_TAKE_SLOT` for `push`."""
        now = time.monotonic()
        slot = max(now, self._next.get(key, 0.0))
        self._next[key] = slot + interval
        if push is not None:
            self._next[push] = max(self._next.get(push, 0.0), slot + push_by)
        if len(self._next) > 10_000:
            # Past slots mean nothing: forget them rather than grow with every chat ever seen.
            self._next = {k: v for k, v in self._next.items() if v > now}
        return slot - now

    def hold(self, key: str, seconds: float) -> None:
        """No slot of `key` before `seconds` from now."""
        self._next[key] = max(self._next.get(key, 0.0), time.monotonic() + seconds)


class FloodLimiter:
    """`await acquire(chat_id)` before every Telegram call that sends into a chat."""

    def __init__(
        self,
        redis: Redis | None = None,
        *,
        per_chat: float = 1.0,
        overall: float = 1 / 30,
        prefix: str = "kramar:flood",
        redis_timeout: float = 0.5,
        retry_redis_after: float = 10.0,
    ) -> None:
        """`per_chat`, `overall`: seconds between two messages to one chat and between any two;
        `redis_timeout`: seconds a slot may take from Redis before the local scheduler is used;
        `retry_redis_after`: seconds to stay local after a Redis failure."""
        self.per_chat = per_chat
        self.overall = overall
        self._redis = redis
        self._script = redis.register_script(_TAKE_SLOT) if redis is not None else None
        self._hold_script = redis.register_script(_HOLD) if redis is not None else None
        self._prefix = prefix
        self._redis_timeout = redis_timeout
        self._retry_redis_after = retry_redis_after
        self._local = LocalSlots()
        self._redis_down_until: float | None = None
        self._held: dict[str, float] = {}
        """Monotonic time each chat's last 429 (seen by this process) ends at."""

    async def acquire(self, chat_id: int | str) -> None:
        """Wait until a message to `chat_id` keeps within both limits, and take that slot."""
        chat = f"{self._prefix}:chat:{chat_id}"
        await self._sleep(await self._take(chat, self.per_chat))
        # The global slot is taken only once the chat's is due: taken earlier, a chat waiting
        # its turn would hold every other chat back. Its own delay pushes the chat's next slot.
        await self._sleep(await self._take(f"{self._prefix}:all", self.overall, chat))

    async def hold(self, chat_id: int | str, seconds: float) -> None:
        """Nothing goes to `chat_id` for `seconds` (Telegram's retry_after): every sender of
        every replica waits in `acquire`, not only the call that got the 429."""
        chat = f"{self._prefix}:chat:{chat_id}"
        self._local.hold(chat, seconds)
        now = time.monotonic()
        if len(self._held) > 10_000:  # ended holds mean nothing
            self._held = {k: v for k, v in self._held.items() if v > now}
        self._held[str(chat_id)] = max(self._held.get(str(chat_id), 0.0), now + seconds)
        if self._hold_script is not None and not self._local_for_now():
            try:
                await asyncio.wait_for(
                    self._hold_script(keys=[chat], args=[round(seconds * 1e6)]),
                    self._redis_timeout,
                )
            except (RedisError, OSError, TimeoutError) as exc:
                self._redis_failed(exc)

    def held(self, chat_id: int | str) -> bool:
        """Whether a 429's retry_after for `chat_id`, seen by this process, still runs: calls
        that skip the limiter (the typing indicator) must not go to the chat before it ends."""
        return self._held.get(str(chat_id), 0.0) > time.monotonic()

    async def _take(self, key: str, interval: float, push: str | None = None) -> float:
        if self._script is not None and not self._local_for_now():
            keys = [key] if push is None else [key, push]
            args = [round(interval * 1e6), round(self.per_chat * 1e6)]
            try:
                waited = await asyncio.wait_for(
                    self._script(keys=keys, args=args), self._redis_timeout
                )
            except (RedisError, OSError, TimeoutError) as exc:
                self._redis_failed(exc)
            else:
                if self._redis_down_until is not None:
                    log.info("flood limiter: Redis answers again, sharing slots across replicas")
                    self._redis_down_until = None
                return int(waited) / 1e6
        return self._local.take(key, interval, push, self.per_chat)

    def _local_for_now(self) -> bool:
        return self._redis_down_until is not None and time.monotonic() < self._redis_down_until

    def _redis_failed(self, exc: BaseException) -> None:
        if self._redis_down_until is None:
            log.warning(
                "flood limiter: Redis failed (%s: %s); limiting in-process for now",
                type(exc).__name__,
                exc,
            )
        self._redis_down_until = time.monotonic() + self._retry_redis_after

    @staticmethod
    async def _sleep(seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)
