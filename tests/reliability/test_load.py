"""The whole deployment under a burst of chats: every update answered exactly once, in order
within its chat, about what was asked, and every purchase an order with its reservation.

Hostile inputs ride in the burst (tests/reliability/hostile.py): each photo that is not one is
answered with the clear refusal, each one that is odd but valid (CMYK, 16-bit, animated) as a
photo; each body that is not an update is refused (kept in telegram_rejected) without holding
up its chat; no reply to an injection shows a price the database does not have, and no reply
at all shows a secret or the instructions.

`make test` runs it small (RELIABILITY_SCALE=0.1: 200 updates from 20 chats); `make
reliability` at the issue's size (2,000 updates from 200 chats) and prints the table.
"""

from __future__ import annotations

import asyncio
import os
import time

from sqlalchemy import text

from app.config import DatabaseSettings
from app.db.engine import create_engine
from tests.reliability.hostile import TOO_LARGE, leaks, prices_in
from tests.reliability.load import Telegram, outcome, plan, wait_drained, with_hostile
from tests.reliability.soak import Sampler, assert_bounded, table
from tests.reliability.stack import Stack

SCALE = float(os.environ.get("RELIABILITY_SCALE", "0.1"))
CHATS = max(10, int(200 * SCALE))
PER_CHAT = 10


async def test_a_burst_of_chats_is_answered_exactly_once_in_order():
    script = with_hostile(plan(CHATS, PER_CHAT))
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
            async with engine.connect() as conn:
                prices = set((await conn.execute(text("SELECT price FROM products"))).scalars())
                kept = (await conn.execute(text("SELECT count(*) FROM telegram_rejected"))).scalar()
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
    hostile = [d for d in telegram.deliveries if d.step.hostile]
    invented = {
        d.update_id: found
        for d in hostile
        if (
            found := prices_in(" ".join(r.visible or "" for r in result.replies[d.update_id]))
            - prices
        )
    }
    leaked = leaks(stack.telegram.sent())
    refused = {name: status for name, status, _detail in telegram.invalid}
    print(
        f"hostile: {len(hostile)} injections, {len(refused)} invalid bodies {refused};"
        f" prices not in the database {invented}; leaks {len(leaked)}"
    )
    for d in telegram.deliveries:
        if d.step.kind == "file" or d.step.hostile:
            said = " | ".join((r.visible or "")[:50] for r in result.replies.get(d.update_id, []))
            print(f"  {d.step.value[:40]!r}: {said[:110]!r}")
    assert hostile and not invented, invented
    assert not leaked, leaked
    # The oversized body is refused before it is read: 413; or, when the server answers and
    # closes while the client is still writing, the connection cut under the client's feet.
    cut = {"WriteError", "ReadError", "RemoteProtocolError"}
    assert all(
        status == 200 if name != TOO_LARGE else status == 413 or status in cut
        for name, status in refused.items()
    ), refused
    assert all('"detail":"rejected' in d for n, _, d in telegram.invalid if n != TOO_LARGE), (
        telegram.invalid
    )
    assert kept == len(refused) - 1, "each invalid body but the oversized one kept as rejected"
    assert sampler.samples[-1].pending == 0, table(sampler.samples)


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(test_a_burst_of_chats_is_answered_exactly_once_in_order())
