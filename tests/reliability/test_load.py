"""The whole deployment under a burst of chats: every update answered exactly once, in order
within its chat, about what was asked, and every purchase an order with its reservation.

`make test` runs it small (RELIABILITY_SCALE=0.1: 200 updates from 20 chats); `make
reliability` at the issue's size (2,000 updates from 200 chats) and prints the table.
"""

from __future__ import annotations

import asyncio
import os
import time

from app.config import DatabaseSettings
from app.db.engine import create_engine
from tests.reliability.load import Telegram, outcome, plan, wait_drained
from tests.reliability.soak import Sampler, assert_bounded, table
from tests.reliability.stack import Stack

SCALE = float(os.environ.get("RELIABILITY_SCALE", "0.1"))
CHATS = max(10, int(200 * SCALE))
PER_CHAT = 10


async def test_a_burst_of_chats_is_answered_exactly_once_in_order():
    script = plan(CHATS, PER_CHAT)
    with Stack() as stack:
        engine = create_engine(stack.database_url, DatabaseSettings())
        try:
            before = (stack.web.rss_kib(), stack.worker.rss_kib())
            telegram = Telegram(stack.telegram, stack.web.base)
            # The soak's series through the burst (`make test`'s short soak: the long one is
            # tests/reliability/test_soak.py), and once more when the inbox has drained.
            sampler = Sampler(stack, engine, 1.0, lambda: len(telegram.deliveries))
            sampling = asyncio.create_task(sampler.run(time.monotonic()))
            try:
                await telegram.run(script.chats)
                await wait_drained(engine, script.updates, 120 + script.updates * 0.2)
            finally:
                sampling.cancel()
                await asyncio.gather(sampling, return_exceptions=True)
            await sampler.take()
            after = (stack.web.rss_kib(), stack.worker.rss_kib())
            result = await outcome(engine, telegram, script)
        finally:
            await engine.dispose()
    print(f"\nload: {CHATS} chats × {PER_CHAT} updates\n{result.table()}")
    print(table(sampler.samples))
    print(
        f"memory (RSS) web {before[0] // 1024} → {after[0] // 1024} MiB,"
        f" worker {before[1] // 1024} → {after[1] // 1024} MiB"
    )
    result.assert_clean()
    assert result.retries == 0, "nothing failed: no update should have needed a redelivery"
    assert_bounded(sampler.samples, backlog=script.updates)
    assert sampler.samples[-1].pending == 0, table(sampler.samples)


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(test_a_burst_of_chats_is_answered_exactly_once_in_order())
