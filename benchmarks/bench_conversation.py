"""A whole scripted sale through `Conversation`, in-process, from question to confirmed order.

Everything `kramar serve` opens (`open_services`: database, caches, orders, the agent) on a
throwaway Postgres holding the demo catalog with its text index (HashingEmbedder); no model
links, so text goes to the offline agent. Several customers (distinct chats) talk at once, each
one turn after another as Telegram's per-chat order would have it. Every conversation must end
with an order in status "new": the figures count only if the orders are really there.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import TYPE_CHECKING

from pydantic import SecretStr
from sqlalchemy import func, select

from app.catalog.service import CatalogService
from app.config import DatabaseSettings, Settings
from app.dialog import callbacks
from app.dialog.engine import Customer
from app.orders.models import Order
from app.orders.status import OrderStatus
from app.services import open_services
from benchmarks.servers import demo_database
from benchmarks.table import Row

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.dialog.engine import Conversation
    from app.dialog.replies import Reply

GROUP = "conversation"
SKU = "KR-KS-001"  # Костюм «Мрія»
SIZE = "M"
COLOUR = "бежевий"
CONCURRENT = 8
PER_CUSTOMER = 100  # conversations each concurrent customer slot runs, one after another
TURNS = (
    ("ask", "text «є костюм мрія?»"),
    ("order", f"callback o:{SKU}"),
    ("size", f"callback s:{SKU}:{SIZE}"),
    ("colour", f"callback c:{SKU}:{SIZE}:<{COLOUR}> (reserves)"),
    ("contact", "shared contact +380671234567"),
    ("delivery", "callback d:np"),
    ("address", "text «Київ, 25»"),
    ("confirm", "callback ok"),
)


def _offers(replies: list[Reply], data: str) -> bool:
    return any(b.data == data for r in replies for row in r.buttons for b in row)


def _button(replies: list[Reply], prefix: str) -> str | None:
    return next(
        (b.data for r in replies for row in r.buttons for b in row if b.data.startswith(prefix)),
        None,
    )


async def converse(conversation: Conversation, chat_id: int, timings: list[list[float]]) -> None:
    """The 8 turns of one sale; raises if any turn does not lead where the script expects."""
    customer = Customer(chat_id, name="Олена")
    event = 0

    def key() -> str:
        nonlocal event
        event += 1
        return f"{chat_id}:{event}"

    colour = callbacks.reserve(SKU, SIZE, COLOUR)
    summary: list[Reply] = []

    async def typed_address() -> list[Reply]:
        summary[:] = await conversation.text(customer, "Київ, 25", event_id=key())
        return summary

    steps: list[tuple[Callable[[], Awaitable[list[Reply]]], Callable[[list[Reply]], bool]]] = [
        (
            lambda: conversation.text(customer, "є костюм мрія?", event_id=key()),
            lambda r: _offers(r, f"o:{SKU}"),
        ),
        (
            lambda: conversation.callback(customer, f"o:{SKU}", event_id=key()),
            lambda r: _offers(r, f"s:{SKU}:{SIZE}"),
        ),
        (
            lambda: conversation.callback(customer, f"s:{SKU}:{SIZE}", event_id=key()),
            lambda r: _offers(r, colour),
        ),
        (
            lambda: conversation.callback(customer, colour, event_id=key()),
            lambda r: any(reply.ask_contact for reply in r),
        ),
        (
            lambda: conversation.contact(customer, "+380671234567", "Олена"),
            lambda r: _offers(r, "d:np"),
        ),
        (
            lambda: conversation.callback(customer, "d:np", event_id=key()),
            lambda r: bool(r),
        ),
        (typed_address, lambda r: _button(r, "ok:") is not None),
        (
            lambda: conversation.callback(
                customer, _button(summary, "ok:") or "ok", event_id=key()
            ),
            lambda r: any("прийнято" in reply.text for reply in r),
        ),
    ]
    for turn, (step, expected) in enumerate(steps):
        started = time.perf_counter()
        replies = await step()
        timings[turn].append(time.perf_counter() - started)
        if not expected(replies):
            raise RuntimeError(f"chat {chat_id}, turn {turn + 1} ({TURNS[turn][1]}): {replies!r}")


async def main() -> list[Row]:
    total = CONCURRENT * PER_CUSTOMER
    async with demo_database() as (engine, session_factory):
        async with CatalogService(session_factory) as catalog:
            await catalog.set_stock(SKU, SIZE, COLOUR, total + 10)
        url = SecretStr(engine.url.render_as_string(hide_password=False))
        settings = Settings(database=DatabaseSettings(url=url), log_level="WARNING")
        async with open_services(settings) as services:
            conversation = services.conversation
            warm: list[list[float]] = [[] for _ in TURNS]
            await converse(conversation, 1, warm)  # caches, pool, plans

            timings: list[list[float]] = [[] for _ in TURNS]

            async def customer(slot: int) -> None:
                for n in range(PER_CUSTOMER):
                    await converse(conversation, 10_000 + slot * 1_000 + n, timings)

            started = time.perf_counter()
            await asyncio.gather(*(customer(slot) for slot in range(CONCURRENT)))
            wall = time.perf_counter() - started

        async with session_factory() as session:
            placed = await session.scalar(
                select(func.count(Order.id)).where(
                    Order.status == OrderStatus.NEW, Order.chat_id >= 10_000
                )
            )
    placed = placed or 0
    if placed != total:
        raise RuntimeError(f"{placed} orders in status new after {total} conversations")

    every = [t for turn in timings for t in turn]
    per_turn = ", ".join(
        f"{name} {statistics.median(t) * 1e3:.1f}"
        for (name, _), t in zip(TURNS, timings, strict=True)
    )
    script = " → ".join(f"{name}: {what}" for name, what in TURNS)
    return [
        Row(
            GROUP,
            "turn p50, 8-turn scripted sale",
            statistics.median(every) * 1e3,
            "ms",
            note=(
                f"p99 {statistics.quantiles(every, n=100)[98] * 1e3:.1f} ms; turns: {script}; "
                f"p50 per turn (ms): {per_turn}"
            ),
        ),
        Row(
            GROUP,
            "scripted sales completed",
            total / wall,
            "conversations/s",
            note=(
                f"{CONCURRENT} customers at once, {total} sales in {wall:.1f} s, in-process "
                f"open_services + Conversation, offline agent, memory cache, embedded Postgres, "
                f"2 cores unpinned; {placed}/{total} orders in status new (checked)"
            ),
        ),
    ]


def run() -> list[Row]:
    return asyncio.run(main())


if __name__ == "__main__":
    from benchmarks.table import render

    print(render(run()))
