"""Steady traffic for a long while: memory, file descriptors, Postgres and Redis connections and
the inbox's backlog stay flat, and every update is still answered exactly once.

`make soak` runs it for 30 minutes (RELIABILITY_SOAK_SECONDS=1800) and asserts every series
flat (tests/reliability/soak.py says how). A run shorter than 5 minutes is too short for a trend
(the processes are still warming up): it checks the answers and the absolute bounds and prints
the samples. `make test` and `make reliability` skip it (a stack alone takes half a minute to
start); their load run samples the same series (tests/reliability/test_load.py).
"""

from __future__ import annotations

import asyncio
import math
import os
import time

import pytest

from app.config import DatabaseSettings, RedisSettings
from app.db.engine import create_engine
from tests.reliability.load import Telegram, outcome, plan, wait_drained
from tests.reliability.soak import Sampler, assert_bounded, table, trend
from tests.reliability.stack import Stack

SECONDS = float(os.environ.get("RELIABILITY_SOAK_SECONDS", "60"))
LONG = SECONDS >= 300
# Steady, not a burst: a fifth of what one worker process manages on a shared core (about
# 11 updates/s), so a growing backlog would be the app's doing, not the machine's.
RATE = 2.0 if LONG else 5.0
TALKING = 20
PER_CHAT = 10
SAMPLES = 60


@pytest.mark.skipif("RELIABILITY_SOAK_SECONDS" not in os.environ, reason="make soak runs the soak")
async def test_steady_traffic_keeps_memory_connections_and_backlog_flat():
    chats = max(3, math.ceil(RATE * SECONDS / PER_CHAT))
    script = plan(chats, PER_CHAT, seed=24)
    with Stack() as stack:
        engine = create_engine(stack.database_url, DatabaseSettings())
        try:
            telegram = Telegram(stack.telegram, stack.web.base)
            sampler = Sampler(
                stack,
                engine,
                max(0.5, SECONDS / SAMPLES),
                lambda: len(telegram.deliveries),
                echo=LONG,
            )
            began = time.monotonic()
            sampling = asyncio.create_task(sampler.run(began))
            try:
                await telegram.run(script.chats, rate=RATE, concurrent=TALKING)
                await wait_drained(engine, script.updates, 120)
            finally:
                sampling.cancel()
                await asyncio.gather(sampling, return_exceptions=True)
            result = await outcome(engine, telegram, script)
        finally:
            await engine.dispose()
    samples = sampler.samples
    at = [s.at for s in samples]
    web_mib, worker_mib = samples[0].web_rss_mib, samples[0].worker_rss_mib
    redis_pool = RedisSettings().max_connections
    # Tolerances, and the leak each would miss: 5 % of the memory (at least 16 MiB) spread over
    # the two thirds of the updates between the thirds' middles (2,400 of the 30-minute run's
    # 3,600) is 7-10 KiB per update; a descriptor, a connection or a Redis client per update
    # would be thousands; the backlog is 5 seconds of traffic.
    trends = [
        trend("web RSS MiB", at, [s.web_rss_mib for s in samples], max(16, web_mib / 20)),
        trend("worker RSS MiB", at, [s.worker_rss_mib for s in samples], max(16, worker_mib / 20)),
        trend("web fds", at, [s.web_fds for s in samples], 8),
        trend("worker fds", at, [s.worker_fds for s in samples], 8),
        trend("postgres connections", at, [s.pg_total for s in samples], 3),
        # A pool's high-water mark is the busiest moment so far, which a steady run may reach
        # late (2 -> 7 at minute 15, with uvloop too): growth within one pool's bound is not a
        # leak, and past the bounds assert_bounded fails. Descriptors leave Redis' out.
        trend("redis clients", at, [s.redis_clients for s in samples], redis_pool),
        trend("inbox backlog", at, [s.pending for s in samples], max(5, 5 * RATE)),
    ]
    print(
        f"\nsoak: {SECONDS:.0f} s at {RATE:g} updates/s, {TALKING} chats talking at a time,"
        f" {chats} chats × {PER_CHAT}\n{table(samples)}\n"
        + "\n".join(t.row() for t in trends)
        + f"\n{result.table()}"
    )
    result.assert_clean()
    assert result.retries == 0, "nothing failed: no update should have needed a redelivery"
    assert len(samples) >= 5, samples
    assert_bounded(samples, backlog=int(RATE * 30) + TALKING)
    if LONG:
        assert all(t.flat for t in trends), "\n".join(t.row() for t in trends if not t.flat)


def test_a_leak_is_not_flat_and_an_early_high_water_mark_is():
    at = [float(t) for t in range(60)]
    noise = [((t * 7919) % 13 - 6) / 2 for t in range(60)]  # ±3, deterministic
    leak = [300 + 0.5 * t + n for t, n in zip(range(60), noise, strict=True)]  # +30 over the run
    warm = [280 + min(t, 5) * 4 + n for t, n in zip(range(60), noise, strict=True)]  # then flat
    assert not trend("leak", at, leak, 16).flat
    assert trend("warm-up then flat", at, warm, 16).flat
    # A slow leak the thirds' medians would forgive is still caught by the fit's growth.
    slow = [300 + 0.3 * t for t in range(60)]
    assert not trend("slow", at, slow, 16).flat


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(test_steady_traffic_keeps_memory_connections_and_backlog_flat())
