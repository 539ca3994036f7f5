"""The flood limiter: per-chat and overall pacing, shared through Redis, local when it fails."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from redis.asyncio import Redis

from app.bot.flood import FloodLimiter
from tests.servers.redis import RedisServer

PER_CHAT = 0.2


async def timed(limiter: FloodLimiter, chat_id: int) -> float:
    await limiter.acquire(chat_id)
    return time.monotonic()


@pytest.fixture(name="redis")
async def fx_redis(redis_url):
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_two_messages_to_one_chat_are_spaced_by_the_per_chat_interval():
    limiter = FloodLimiter(per_chat=PER_CHAT, overall=0.001)

    first = await timed(limiter, 1)
    second = await timed(limiter, 1)

    assert second - first >= PER_CHAT - 0.005


async def test_other_chats_are_not_held_back_by_a_busy_chat():
    limiter = FloodLimiter(per_chat=PER_CHAT, overall=0.001)
    await limiter.acquire(1)
    started = time.monotonic()

    busy = asyncio.create_task(timed(limiter, 1))
    others = await asyncio.gather(timed(limiter, 2), timed(limiter, 3))

    assert max(others) - started < PER_CHAT / 2
    assert await busy - started >= PER_CHAT - 0.005


async def test_the_overall_interval_spaces_messages_to_different_chats():
    limiter = FloodLimiter(per_chat=PER_CHAT, overall=0.05)
    started = time.monotonic()

    times = await asyncio.gather(*(timed(limiter, chat) for chat in range(5)))

    assert max(times) - started >= 4 * 0.05 - 0.005


async def test_two_replicas_share_one_chats_slots_through_redis(redis_url):
    replicas = [
        FloodLimiter(Redis.from_url(redis_url), per_chat=PER_CHAT, overall=0.001) for _ in range(2)
    ]

    times = sorted(
        await asyncio.gather(*(timed(replica, 42) for replica in replicas for _ in range(2)))
    )

    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= PER_CHAT - 0.01
    for replica in replicas:
        assert replica._redis is not None
        await replica._redis.aclose()


async def test_slots_in_redis_expire_once_past(redis):
    limiter = FloodLimiter(redis, per_chat=PER_CHAT, overall=0.001, prefix="t")
    await limiter.acquire(7)

    ttl = await redis.pttl("t:chat:7")

    assert 0 < ttl <= PER_CHAT * 1000 + 1


async def test_when_redis_stops_the_limiter_falls_back_and_still_paces(caplog):
    server = RedisServer()
    server.start()
    client = Redis.from_url(server.url, socket_connect_timeout=0.2, socket_timeout=0.2)
    limiter = FloodLimiter(client, per_chat=PER_CHAT, overall=0.001)
    try:
        await limiter.acquire(1)
        server.stop()

        first = await timed(limiter, 2)
        second = await timed(limiter, 2)
        await limiter.acquire(3)
    finally:
        await client.aclose()
        server.close()

    assert second - first >= PER_CHAT - 0.005
    assert sum("Redis failed" in r.message for r in caplog.records) == 1  # logged once


async def test_an_unreachable_redis_never_blocks_sending():
    client = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    limiter = FloodLimiter(client, per_chat=PER_CHAT, overall=0.001, redis_timeout=0.3)
    started = time.monotonic()
    try:
        await limiter.acquire(1)
    finally:
        await client.aclose()

    assert time.monotonic() - started < 1


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
async def test_a_hold_from_a_429_keeps_every_sender_of_that_chat_waiting(redis_url, shared):
    # Telegram's retry_after is the chat's, not the call's: the managers' chat gets one sender
    # per customer turn, and a second replica must wait as well.
    def limiter() -> FloodLimiter:
        return FloodLimiter(Redis.from_url(redis_url) if shared else None, per_chat=0, overall=0)

    first, second = limiter(), limiter() if shared else None
    held_at = time.monotonic()
    await first.hold(-100777, 0.3)

    waited = await asyncio.gather(
        timed(first, -100777), timed(second or first, -100777), timed(first, 7)
    )

    assert min(waited[:2]) - held_at >= 0.3 - 0.01
    assert waited[2] - held_at < 0.1  # another chat is not held
    for replica in (first, second):
        if replica is not None and replica._redis is not None:
            await replica._redis.aclose()


async def test_a_429_hold_is_known_to_calls_that_skip_the_limiter_until_it_ends():
    # The typing indicator does not queue for a slot; it asks whether the chat is held instead.
    limiter = FloodLimiter(None, per_chat=1.0, overall=0)
    await limiter.acquire(5)
    assert not limiter.held(5)  # an ordinary slot spacing is not a hold

    await limiter.hold(5, 0.2)

    assert limiter.held(5) and limiter.held("5") and not limiter.held(6)
    await asyncio.sleep(0.25)
    assert not limiter.held(5)
