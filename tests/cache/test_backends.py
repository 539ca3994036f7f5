"""One behaviour suite run against both cache backends, plus what only one of them does."""

from __future__ import annotations

import asyncio
import logging
import socket
from typing import TYPE_CHECKING

import pytest
from prometheus_client import REGISTRY
from pydantic import SecretStr

from app.cache.factory import create_backend
from app.cache.memory import MemoryBackend
from app.cache.redis import RedisBackend
from app.config import RedisSettings, Settings
from tests.servers.redis import RedisServer

if TYPE_CHECKING:
    from collections.abc import Iterator

    from app.cache.backend import CacheBackend


@pytest.fixture(name="own_redis")
def fx_own_redis() -> Iterator[RedisServer]:
    """A Redis of this test's own, free to be stopped without disturbing the shared one."""
    server = RedisServer()
    server.start()
    yield server
    server.close()


@pytest.fixture(name="silent_url")
def fx_silent_url() -> Iterator[str]:
    """A Redis URL whose port accepts connections and never answers (like a hung server)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield f"redis://127.0.0.1:{silent.getsockname()[1]}/0"


def backend_logs(caplog: pytest.LogCaptureFixture, level: int) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "app.cache.redis" and r.levelno == level]


def redis_errors() -> float:
    return REGISTRY.get_sample_value("cache_backend_errors_total", {"backend": "redis"}) or 0.0


async def test_set_value_is_returned_until_deleted(backend: CacheBackend) -> None:
    value = bytes(range(256))  # any bytes survive the round trip

    await backend.set("k", value, ttl=60)
    assert await backend.get("k") == value

    await backend.delete("k", "absent")
    assert await backend.get("k") is None


async def test_absent_key_is_a_miss(backend: CacheBackend) -> None:
    assert await backend.get("never-set") is None
    assert await backend.get_and_touch("never-set", ttl=60) is None


async def test_delete_of_no_keys_does_nothing(backend: CacheBackend) -> None:
    await backend.set("k", b"v", ttl=60)

    await backend.delete()

    assert await backend.get("k") == b"v"


async def test_value_expires_after_its_ttl(backend: CacheBackend) -> None:
    await backend.set("k", b"v", ttl=0.1)
    assert await backend.get("k") == b"v"

    await asyncio.sleep(0.15)

    assert await backend.get("k") is None


async def test_get_and_touch_slides_the_ttl(backend: CacheBackend) -> None:
    await backend.set("k", b"v", ttl=0.25)
    await asyncio.sleep(0.15)

    assert await backend.get_and_touch("k", ttl=0.25) == b"v"
    await asyncio.sleep(0.15)  # 0.3 s after set: only the touch keeps it alive

    assert await backend.get("k") == b"v"
    await asyncio.sleep(0.15)
    assert await backend.get("k") is None


async def test_plain_get_does_not_slide_the_ttl(backend: CacheBackend) -> None:
    await backend.set("k", b"v", ttl=0.2)
    await asyncio.sleep(0.1)
    assert await backend.get("k") == b"v"

    await asyncio.sleep(0.15)

    assert await backend.get("k") is None


async def test_set_again_replaces_value_and_ttl(backend: CacheBackend) -> None:
    await backend.set("k", b"old", ttl=0.1)

    await backend.set("k", b"new", ttl=60)
    await asyncio.sleep(0.15)

    assert await backend.get("k") == b"new"


async def test_sets_collect_members_and_read_back_in_one_call(backend: CacheBackend) -> None:
    await backend.set_add("a", "x", ttl=60)
    await backend.set_add("a", "y", ttl=60)
    await backend.set_add("a", "x", ttl=60)
    await backend.set_add("b", "ж", ttl=60)

    members = await backend.set_members_many(["a", "missing", "b"])

    assert members == [{"x", "y"}, set(), {"ж"}]
    assert await backend.set_members_many([]) == []


async def test_set_expires_and_each_add_restarts_its_ttl(backend: CacheBackend) -> None:
    await backend.set_add("s", "x", ttl=0.25)
    await asyncio.sleep(0.15)
    await backend.set_add("s", "y", ttl=0.25)
    await asyncio.sleep(0.15)  # 0.3 s after the first add

    assert await backend.set_members_many(["s"]) == [{"x", "y"}]
    await asyncio.sleep(0.15)
    assert await backend.set_members_many(["s"]) == [set()]


async def test_sets_are_deleted_like_values(backend: CacheBackend) -> None:
    await backend.set_add("s", "x", ttl=60)

    await backend.delete("s")

    assert await backend.set_members_many(["s"]) == [set()]


async def test_compare_and_set_writes_only_over_what_the_writer_saw(backend: CacheBackend) -> None:
    assert await backend.compare_and_set("k", None, b"first", ttl=60) is True
    assert await backend.compare_and_set("k", None, b"again", ttl=60) is False  # not absent now
    assert await backend.compare_and_set("k", b"stale", b"second", ttl=60) is False
    assert await backend.get("k") == b"first"
    assert await backend.compare_and_set("k", b"first", b"second", ttl=60) is True
    assert await backend.get("k") == b"second"


async def test_compare_and_set_restarts_the_ttl(backend: CacheBackend) -> None:
    await backend.set("k", b"v", ttl=0.2)
    assert await backend.compare_and_set("k", b"v", b"w", ttl=60) is True
    await asyncio.sleep(0.3)
    assert await backend.get("k") == b"w"


async def test_memory_backend_evicts_least_recently_used_key_beyond_its_bound() -> None:
    backend = MemoryBackend(max_keys=3)
    await backend.set("a", b"1", ttl=60)
    await backend.set("b", b"2", ttl=60)
    await backend.set("c", b"3", ttl=60)
    await backend.get("a")  # now "b" is the least recently used

    await backend.set("d", b"4", ttl=60)

    assert len(backend) == 3
    assert await backend.get("b") is None
    assert [await backend.get(k) for k in ("a", "c", "d")] == [b"1", b"3", b"4"]


async def test_memory_backend_bound_counts_sets_too() -> None:
    backend = MemoryBackend(max_keys=2)
    await backend.set_add("s", "x", ttl=60)
    await backend.set("a", b"1", ttl=60)

    await backend.set("b", b"2", ttl=60)

    assert await backend.set_members_many(["s"]) == [set()]
    assert len(backend) == 2


async def test_memory_backend_hands_out_copies_of_sets() -> None:
    backend = MemoryBackend()
    await backend.set_add("s", "x", ttl=60)

    (members,) = await backend.set_members_many(["s"])
    members.add("changed by the caller")

    assert await backend.set_members_many(["s"]) == [{"x"}]


async def test_redis_outage_degrades_to_misses_and_recovers(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    backend = RedisBackend(own_redis.url, retry_after=0.1)
    await backend.set("k", b"before", ttl=60)
    assert await backend.get("k") == b"before"
    caplog.set_level(logging.INFO, logger="app.cache.redis")
    errors_before = redis_errors()

    own_redis.stop()
    assert await backend.get("k") is None
    await backend.set("k", b"lost", ttl=60)
    assert await backend.get_and_touch("k", ttl=60) is None
    await backend.set_add("s", "x", ttl=60)
    assert await backend.set_members_many(["s", "t"]) == [set(), set()]
    await backend.delete("k")
    # A compare-and-set during an outage is a lost write like any other, not a conflict to retry.
    assert await backend.compare_and_set("k", None, b"lost", ttl=60) is True
    await asyncio.sleep(0.15)  # past the back-off: this get really tries Redis again
    assert await backend.get("k") is None

    assert redis_errors() >= errors_before + 8
    warnings = [r.getMessage() for r in backend_logs(caplog, logging.WARNING)]
    assert len(warnings) == 1
    assert warnings[0].startswith("redis unavailable: ")

    own_redis.start()  # same port, empty: nothing was persisted
    await asyncio.sleep(0.15)
    await backend.set("k", b"after", ttl=60)

    assert await backend.get("k") == b"after"
    assert await backend.set_members_many(["s"]) == [set()]
    infos = [r.getMessage() for r in backend_logs(caplog, logging.INFO)]
    assert infos == ["redis available again"]
    await backend.close()


async def test_redis_restart_between_calls_is_not_an_outage(
    own_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.cache.redis")
    backend = RedisBackend(own_redis.url)
    await backend.set("k", b"v", ttl=60)  # leaves an open connection in the pool
    errors_before = redis_errors()

    own_redis.stop()
    own_redis.start()
    await backend.set("k", b"again", ttl=60)

    assert await backend.get("k") == b"again"
    assert redis_errors() == errors_before
    assert backend_logs(caplog, logging.INFO) + backend_logs(caplog, logging.WARNING) == []
    await backend.close()


async def test_redis_backend_skips_redis_during_back_off(own_redis: RedisServer) -> None:
    backend = RedisBackend(own_redis.url, retry_after=60)
    own_redis.stop()
    assert await backend.get("k") is None

    own_redis.start()

    # Redis is back, but the backend does not look before the back-off ends.
    await backend.set("k", b"v", ttl=60)
    assert await backend.get("k") is None
    await backend.close()


async def test_refused_connection_fails_fast_without_long_retries(own_redis: RedisServer) -> None:
    backend = RedisBackend(own_redis.url, retry_after=0)  # every call really tries Redis
    own_redis.stop()
    loop = asyncio.get_running_loop()

    started = loop.time()
    for _ in range(20):
        assert await backend.get("k") is None

    assert loop.time() - started < 1.0
    await backend.close()


async def test_redis_that_never_answers_costs_one_timeout_then_is_skipped(
    silent_url: str,
) -> None:
    backend = RedisBackend(silent_url, timeout=0.1, retry_after=60)
    loop = asyncio.get_running_loop()

    started = loop.time()
    assert await backend.get("k") is None
    first = loop.time() - started
    started = loop.time()
    for _ in range(20):
        assert await backend.get("k") is None
    rest = loop.time() - started

    await backend.close()
    assert 0.1 <= first < 1.0
    assert rest < 0.05


async def test_only_one_call_at_a_time_probes_a_redis_that_is_down(silent_url: str) -> None:
    backend = RedisBackend(silent_url, timeout=0.1, retry_after=0.05)
    await backend.get("k")  # the outage begins
    await asyncio.sleep(0.06)  # the back-off is over

    calls = [asyncio.create_task(backend.get("k")) for _ in range(10)]
    done, probing = await asyncio.wait(calls, timeout=0.05)

    assert (len(done), len(probing)) == (9, 1)
    await asyncio.wait(probing)
    await backend.close()


async def test_factory_picks_redis_when_a_url_is_set(redis_url: str) -> None:
    settings = Settings(redis=RedisSettings(url=SecretStr(redis_url)))

    backend = create_backend(settings)
    await backend.set("k", b"v", ttl=60)

    other = RedisBackend(redis_url)
    assert isinstance(backend, RedisBackend)
    assert await other.get("k") == b"v"  # really in that Redis
    await backend.close()
    await other.close()


def test_factory_picks_memory_without_a_url() -> None:
    settings = Settings(redis=RedisSettings(url=None))

    assert isinstance(create_backend(settings), MemoryBackend)


async def connected_clients(url: str) -> int:
    """Clients connected to the Redis at `url`, this probe apart."""
    from redis.asyncio import Redis

    probe = Redis.from_url(url)
    try:
        info = await probe.info("clients")
        return int(info["connected_clients"]) - 1
    finally:
        await probe.aclose()


async def test_a_burst_of_commands_opens_no_more_connections_than_the_pool_holds(
    own_redis: RedisServer,
) -> None:
    """redis-py's pool is unbounded by default: each command of a burst that finds every
    connection busy opens one more, and keeps it. The bounded pool makes the burst wait."""
    settings = Settings(redis=RedisSettings(url=SecretStr(own_redis.url), max_connections=3))
    backend = create_backend(settings)
    await backend.set("k", b"v", ttl=60)
    errors_before = redis_errors()

    values = await asyncio.gather(*(backend.get("k") for _ in range(200)))

    assert values == [b"v"] * 200  # every command waited its turn; none was a miss
    assert redis_errors() == errors_before
    assert 1 <= await connected_clients(own_redis.url) <= 3
    await backend.close()


async def test_the_spend_ledger_pool_is_bounded_too(own_redis: RedisServer) -> None:
    from datetime import date

    from app.llm.costs import RedisLedger

    ledger = RedisLedger(own_redis.url, max_connections=2)
    day = date(2026, 12, 1)
    await asyncio.gather(*(ledger.add(day, "m", 0.5, 10, 1) for _ in range(50)))

    assert 1 <= await connected_clients(own_redis.url) <= 2
    [spend] = await ledger.spend(day)
    assert spend.usd == pytest.approx(25)  # nothing lost to the wait
    assert spend.tokens_in == 500
    await ledger.close()
