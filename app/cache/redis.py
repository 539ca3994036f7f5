"""The Redis cache backend: shared by every replica; an outage degrades to cache misses."""

from __future__ import annotations

import hashlib
import logging
import time
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry.trace import get_current_span
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError

from app.observability.metrics import CACHE_BACKEND_ERRORS

if TYPE_CHECKING:
    import builtins
    from collections.abc import Awaitable, Callable, Sequence

    from opentelemetry.trace import Span

log = logging.getLogger(__name__)

T = TypeVar("T")


# SET only if the key holds the value whose SHA-1 is ARGV[1] ('' : only if absent). The digest,
# not the value, travels: a session is up to tens of kilobytes.
_COMPARE_AND_SET = """
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '' then
  if current then return 0 end
elseif (not current) or redis.sha1hex(current) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


def redis_client(url: str, *, max_connections: int, timeout: float | None, **options: Any) -> Redis:
    """A client of `url` whose pool holds at most `max_connections` open: a burst of commands
    waits (up to `timeout`) for a connection to come back instead of opening one per command,
    so the connections a process holds are bounded however its load peaks. `timeout` also
    bounds connecting and each reply; `options` go to each connection (e.g. `retry`)."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=timeout,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        **options,
    )
    return Redis.from_pool(pool)  # the client owns the pool: closing it closes the pool


def _ms(ttl: float) -> int:
    # Milliseconds (PX): sub-second TTLs stay exact; Redis refuses a TTL of 0.
    return max(1, round(ttl * 1000))


class RedisBackend:
    """A `CacheBackend` on redis-py's asyncio client.

    Every failure (refused, timed out, reset) is served as a miss or a no-op, and so is every
    call skipped during the back-off after one; each counts in
    `cache_backend_errors_total{backend="redis"}`. An outage is logged once at WARNING when it
    starts and once at INFO when Redis answers again. Reconnecting is the connection pool's job:
    a broken connection is dropped and the next command opens a new one.
    """

    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.25,
        retry_after: float = 1.0,
        max_connections: int = 32,
    ) -> None:
        """`timeout`: seconds to connect, to wait for a free connection and to read a reply;
        `retry_after`: seconds to skip Redis after a failure; `max_connections`: the pool's
        bound."""
        self._redis = redis_client(
            url,
            max_connections=max_connections,
            timeout=timeout,
            # One immediate retry: after Redis restarts, the first command on a pooled connection
            # fails ("Connection closed by server") and the retry reconnects, so a restart is not
            # an outage. No more than one: on an unreachable host each retry costs a timeout.
            retry=Retry(NoBackoff(), 1),
        )
        self._compare_and_set = self._redis.register_script(_COMPARE_AND_SET)
        self._retry_after = retry_after
        self._down = False
        self._probing = False
        self._retry_at = 0.0

    def _skip(self) -> bool:
        # While Redis is down, only one call at a time probes it, at most once per `retry_after`;
        # the others are misses at once. An unreachable host (dropped packets rather than a
        # refused connection) would otherwise cost every call the full timeout, and a reply
        # makes several cache calls.
        if not self._down:
            return False
        if self._probing or time.monotonic() < self._retry_at:
            return True
        self._probing = True
        return False

    async def _call(self, name: str, operation: Callable[[], Awaitable[T]], default: T) -> T:
        # No span per command: a span costs about as much as a Redis round trip here (10 % of a
        # text turn, measured in benchmarks/bench_tracing.py). Trouble is written on the
        # caller's span instead; keys never are (session keys carry chat ids).
        return await self._guarded(operation, default, get_current_span(), name)

    async def _guarded(
        self, operation: Callable[[], Awaitable[T]], default: T, current: Span, name: str
    ) -> T:
        if self._skip():
            CACHE_BACKEND_ERRORS.labels(self.name).inc()
            current.set_attribute("redis.skipped", name)
            return default
        probe = self._down
        try:
            result = await operation()
        except ResponseError as exc:
            # Redis answered but refused the command (e.g. WRONGTYPE): a bug, not an outage.
            CACHE_BACKEND_ERRORS.labels(self.name).inc()
            current.set_attribute("redis.error", f"{name}: {type(exc).__name__}")
            log.warning("redis refused a command: %s", exc)
            self._recovered()
            return default
        except (RedisError, OSError) as exc:
            # redis-py's ConnectionError and TimeoutError are RedisErrors; socket errors and the
            # built-in TimeoutError are OSErrors.
            CACHE_BACKEND_ERRORS.labels(self.name).inc()
            current.set_attribute("redis.error", f"{name}: {type(exc).__name__}")
            self._retry_at = time.monotonic() + self._retry_after
            if not self._down:
                self._down = True
                log.warning("redis unavailable: %s", exc)
            return default
        finally:
            if probe:
                self._probing = False
        self._recovered()
        return result

    def _recovered(self) -> None:
        if self._down:
            self._down = False
            log.info("redis available again")

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent, expired, or Redis is unreachable."""
        value = await self._call("redis GET", lambda: self._redis.get(key), None)
        return value if isinstance(value, bytes) or value is None else value.encode()

    async def get_and_touch(self, key: str, ttl: float) -> bytes | None:
        """Like `get`, and restart the key's TTL (GETEX ... PX, one round trip)."""
        value = await self._call("redis GETEX", lambda: self._redis.getex(key, px=_ms(ttl)), None)
        return value if isinstance(value, bytes) or value is None else value.encode()

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store `value` for `ttl` seconds (SET ... PX)."""
        await self._call("redis SET", lambda: self._redis.set(key, value, px=_ms(ttl)), None)

    async def compare_and_set(
        self, key: str, expected: bytes | None, value: bytes, ttl: float
    ) -> bool:
        """Store `value` only if `key` still holds `expected` (None: absent), in one Lua script;
        True when Redis is unreachable (the write is lost, as any other)."""
        digest = "" if expected is None else hashlib.sha1(expected).hexdigest()  # noqa: S324

        async def run() -> bool:
            stored = await self._compare_and_set(keys=[key], args=[digest, value, _ms(ttl)])
            return bool(stored)

        return await self._call("redis EVALSHA", run, True)

    async def delete(self, *keys: str) -> None:
        """Forget these keys."""
        if keys:
            await self._call("redis DEL", lambda: self._redis.delete(*keys), None)

    async def set_add(self, key: str, member: str, ttl: float) -> None:
        """Add `member` to the set at `key` and (re)start the set's TTL, in one round trip."""

        async def run() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.sadd(key, member)
                pipe.pexpire(key, _ms(ttl))
                await pipe.execute()

        await self._call("redis SADD PEXPIRE", run, None)

    async def set_members_many(self, keys: Sequence[str]) -> list[builtins.set[str]]:
        """The members of each set, in one pipelined round trip; an absent set is empty."""
        if not keys:
            return []

        async def run() -> list[builtins.set[str]]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.smembers(key)
                replies: list[Any] = await pipe.execute()
            return [{m.decode() if isinstance(m, bytes) else str(m) for m in r} for r in replies]

        empty: list[builtins.set[str]] = [set() for _ in keys]
        return await self._call("redis SMEMBERS", run, empty)

    async def close(self) -> None:
        """Close the pooled connections."""
        await self._redis.connection_pool.disconnect()
