"""The last pieces under a rush: 50 customers check out one variant with 5 pieces at once.

Each customer is a separate chat calling `OrderService.start_order` concurrently against a real
Postgres (the engine's default pool, so calls also queue for connections as in production).
Exactly 5 drafts must be created and 45 customers told it is sold out, with the stock at 0, never
below. A second figure is the latency of one checkout without contention, and a third the same
after 10,000 closed orders of that variant: reserved is counted from the order lines on every
reservation, so the history must not make it slower.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.catalog.models import Product, Variant
from app.catalog.schemas import StockLine
from app.catalog.service import CatalogService
from app.catalog.stock import variant_stock
from app.orders.errors import SoldOutError
from app.orders.models import Order
from app.orders.service import OrderService
from benchmarks.table import Row
from tests.factories import product_in
from tests.servers.postgres import migrated_database

GROUP = "orders"
CUSTOMERS = 50
PIECES = 5
SOLO_RUNS = 200
HISTORY = 10_000


async def _warm_pool(session_factory: async_sessionmaker[AsyncSession]) -> None:
    """Open the pool's connections first: a replica under a rush has them open already."""

    async def ping() -> None:
        async with session_factory() as session:
            await session.execute(text("SELECT pg_sleep(0.05)"))

    await asyncio.gather(*(ping() for _ in range(CUSTOMERS)))


async def main() -> list[Row]:
    async with migrated_database() as (_, session_factory):
        async with CatalogService(session_factory) as catalog:
            rush = await catalog.create_product(
                product_in(stock=[StockLine(size="M", colour="чорний", qty=PIECES)])
            )
            calm = await catalog.create_product(
                product_in(stock=[StockLine(size="S", colour="чорний", qty=2 * SOLO_RUNS)])
            )
        orders = OrderService(session_factory)
        await _warm_pool(session_factory)

        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                orders.start_order(chat, rush.sku, "M", "чорний")
                for chat in range(1, CUSTOMERS + 1)
            ),
            return_exceptions=True,
        )
        rush_ms = (time.perf_counter() - started) * 1e3
        sold_out = sum(isinstance(r, SoldOutError) for r in results)
        failed = [
            r for r in results if isinstance(r, Exception) and not isinstance(r, SoldOutError)
        ]
        async with session_factory() as session:
            drafts = await session.scalar(select(func.count(Order.id))) or 0
            left = await session.scalar(
                select(func.sum(variant_stock.c.available))
                .join(Variant, Variant.id == variant_stock.c.variant_id)
                .join(Product)
                .where(Product.sku == rush.sku)
            )

        timings = await _checkouts(orders, calm.sku, first_chat=100_000)
        await _history(session_factory, calm.sku)
        with_history = await _checkouts(orders, calm.sku, first_chat=200_000)

    note = f"{CUSTOMERS} chats, 1 variant, {PIECES} pieces"
    return [
        Row(GROUP, "rush: time until every customer has an answer", rush_ms, "ms", note=note),
        Row(GROUP, "rush: drafts created", drafts, "orders", goal=f"= {PIECES}"),
        Row(GROUP, "rush: sold-out answers", sold_out, "answers", goal=f"= {CUSTOMERS - PIECES}"),
        Row(GROUP, "rush: other errors", len(failed), "errors", goal="= 0"),
        Row(GROUP, "rush: available left", float(left or 0), "pieces", goal="= 0"),
        Row(
            GROUP,
            "start_order p50, no contention",
            statistics.median(timings),
            "ms",
            note=f"p99 {statistics.quantiles(timings, n=100)[98]:.1f} ms, {SOLO_RUNS} checkouts",
        ),
        Row(
            GROUP,
            f"start_order p50, {HISTORY:,} closed orders of the variant",
            statistics.median(with_history),
            "ms",
            note=f"p99 {statistics.quantiles(with_history, n=100)[98]:.1f} ms",
        ),
    ]


async def _checkouts(orders: OrderService, sku: str, *, first_chat: int) -> list[float]:
    """Milliseconds of each of `SOLO_RUNS` checkouts of S/чорний, one after the other."""
    timings: list[float] = []
    for chat in range(first_chat, first_chat + SOLO_RUNS):
        began = time.perf_counter()
        await orders.start_order(chat, sku, "S", "чорний")
        timings.append((time.perf_counter() - began) * 1e3)
    return timings


async def _history(session_factory: async_sessionmaker[AsyncSession], sku: str) -> None:
    """`HISTORY` done orders of one piece of S/чорний each, and the drafts so far cancelled."""
    async with session_factory() as session, session.begin():
        variant_id = await session.scalar(
            select(Variant.id)
            .join(Product)
            .where(Product.sku == sku, Variant.size == "S", Variant.colour == "чорний")
        )
        await session.execute(text("UPDATE orders SET status = 'cancelled'"))
        await session.execute(
            text(
                "INSERT INTO orders (chat_id, status, total) "
                "SELECT 300000 + g, 'done', 599 FROM generate_series(1, :n) g"
            ),
            {"n": HISTORY},
        )
        await session.execute(
            text(
                "INSERT INTO order_lines (order_id, variant_id, sku, name, size, colour, qty,"
                " unit_price) SELECT id, :variant, :sku, 'x', 'S', 'чорний', 1, 599"
                " FROM orders WHERE status = 'done'"
            ),
            {"variant": variant_id, "sku": sku},
        )
        await session.execute(text("ANALYZE"))


def run() -> list[Row]:
    return asyncio.run(main())


if __name__ == "__main__":
    from benchmarks.table import render

    print(render(run()))
