"""On hand and reserved kept apart: imports, admin writes, orders and what customers are shown."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from functools import partial

import pytest
from sqlalchemy import select

from app.cache.memory import MemoryBackend
from app.cache.product import ProductCache
from app.catalog.exporter import export_catalog
from app.catalog.importer import import_catalog, load_catalog
from app.catalog.schemas import Shortfall, StockLine
from app.catalog.service import CatalogService, load_card
from app.catalog.version import CatalogVersion
from app.notices.models import ManagerNotice
from app.orders.errors import SoldOutError
from app.orders.service import customer, manager
from app.orders.status import OPEN, OrderStatus
from tests.catalog.factories import catalog_version, product, write_yaml
from tests.factories import add_product
from tests.fixtures_app import ADMIN
from tests.orders.conftest import RESERVATION_MINUTES, level_of

SKU = "KR-KS-001"
ONE_PIECE = [{"size": "M", "colour": "бежевий", "qty": 1}]


def load(path):
    return load_catalog(path, max_catalog_bytes=20_000_000, max_photo_bytes=64 * 1024)


async def import_file(session_factory, path):
    return await import_catalog(session_factory, load(path))


async def takers(orders, chats, sku=SKU, size="M", colour="бежевий"):
    """How many of `chats` could reserve the variant, one after the other."""
    taken = 0
    for chat in chats:
        try:
            await orders.start_order(chat, sku, size, colour)
        except SoldOutError:
            continue
        taken += 1
    return taken


async def test_reimporting_an_unchanged_file_neither_writes_nor_frees_a_reserved_piece(
    orders, session_factory, tmp_path
):
    """The issue's reproduction: 1 piece in the file, reserved, the same file imported again."""
    path = write_yaml(tmp_path, [product(SKU, stock=ONE_PIECE)])
    await import_file(session_factory, path)
    first = await orders.start_order(1, SKU, "M", "бежевий")
    version = await catalog_version(session_factory)

    plan = await import_file(session_factory, path)

    assert (plan.changed, plan.unchanged) == ({}, 1)
    assert await catalog_version(session_factory) == version
    with pytest.raises(SoldOutError):
        await orders.start_order(2, SKU, "M", "бежевий")
    await orders.cancel(first.id, customer(1), "changed my mind")
    # One piece on the shelf, however many reservations came and went: exactly one taker.
    assert await takers(orders, [3, 4]) == 1


async def test_cancels_after_a_reimport_never_make_two_pieces_of_one(
    orders, session_factory, tmp_path
):
    path = write_yaml(tmp_path, [product(SKU, stock=ONE_PIECE)])
    await import_file(session_factory, path)
    first = await orders.start_order(1, SKU, "M", "бежевий")
    await import_file(session_factory, path)
    second = await takers(orders, [2])

    await orders.cancel(first.id, customer(1), "no")
    if second:
        draft = await orders.draft_for(2)
        assert draft is not None
        await orders.cancel(draft.id, customer(2), "no")

    assert await takers(orders, [5, 6, 7]) == 1


# What reserves, and what shipping does ----------------------------------------------------------


async def order_in(orders, chat, status, sku, size="S", colour="чорний", qty=1):
    """An order of `qty` pieces moved along the workflow to `status`."""
    order = await orders.start_order(chat, sku, size, colour, qty=qty)
    path = {
        OrderStatus.DRAFT: [],
        OrderStatus.NEW: [OrderStatus.NEW],
        OrderStatus.CONFIRMED: [OrderStatus.NEW, OrderStatus.CONFIRMED],
        OrderStatus.PAID: [OrderStatus.NEW, OrderStatus.CONFIRMED, OrderStatus.PAID],
        OrderStatus.SHIPPED: [
            *(OrderStatus.NEW, OrderStatus.CONFIRMED, OrderStatus.PAID, OrderStatus.SHIPPED)
        ],
        OrderStatus.DONE: [
            *(OrderStatus.NEW, OrderStatus.CONFIRMED, OrderStatus.PAID, OrderStatus.SHIPPED),
            OrderStatus.DONE,
        ],
        OrderStatus.CANCELLED: [OrderStatus.CANCELLED],
    }[status]
    if path and path[0] is OrderStatus.NEW:
        await orders.set_contact(order.id, "Олена Коваль", "067 123 45 67")
        await orders.set_delivery(order.id, "nova_poshta", "Київ", branch="Відділення №12")
    for step in path:
        order = await orders.change_status(order.id, step, manager(5))
    return order


async def test_only_lines_of_open_orders_are_reserved(orders, session_factory):
    """The view's list of open statuses is the code's `OPEN`, status by status."""
    product = await add_product(
        session_factory, stock=[StockLine(size="S", colour="чорний", qty=30)]
    )
    for chat, status in enumerate(OrderStatus, start=1):
        await order_in(orders, chat, status, product.sku, qty=chat)

    level = await level_of(session_factory, product.sku, "S", "чорний")

    statuses = list(OrderStatus)
    shipped = sum(
        i for i, s in enumerate(statuses, 1) if s in {OrderStatus.SHIPPED, OrderStatus.DONE}
    )
    assert level.reserved == sum(i for i, s in enumerate(statuses, 1) if s in OPEN)
    assert level.on_hand == 30 - shipped
    assert level.available == max(level.on_hand - level.reserved, 0)


async def test_shipping_takes_the_pieces_off_on_hand_once(orders, session_factory):
    product = await add_product(session_factory)  # S/чорний: 3
    order = await order_in(orders, 1, OrderStatus.PAID, product.sku, qty=2)
    before = await level_of(session_factory, product.sku, "S", "чорний")

    await orders.change_status(order.id, OrderStatus.SHIPPED, manager(5))
    shipped = await level_of(session_factory, product.sku, "S", "чорний")
    await orders.change_status(order.id, OrderStatus.DONE, manager(5))
    done = await level_of(session_factory, product.sku, "S", "чорний")

    assert (before.on_hand, before.reserved, before.available) == (3, 2, 1)
    assert (shipped.on_hand, shipped.reserved, shipped.available) == (1, 0, 1)
    assert done == shipped


async def test_shipping_what_the_shop_set_to_zero_leaves_zero_on_hand(
    orders, session_factory, client
):
    product = await add_product(session_factory)
    order = await order_in(orders, 1, OrderStatus.PAID, product.sku, qty=2)
    await client.put(
        f"/api/v1/admin/products/{product.sku}/stock",
        json={"size": "S", "colour": "чорний", "qty": 1},
        headers=ADMIN,
    )

    await orders.change_status(order.id, OrderStatus.SHIPPED, manager(5))

    level = await level_of(session_factory, product.sku, "S", "чорний")
    assert (level.on_hand, level.reserved, level.available) == (0, 0, 0)


# On hand set below what open orders hold -------------------------------------------------------


async def notices(session_factory):
    async with session_factory() as session:
        return list(await session.scalars(select(ManagerNotice.text).order_by(ManagerNotice.id)))


async def test_admin_stock_below_reserved_keeps_orders_shows_zero_and_tells_the_managers(
    orders, session_factory, client
):
    product = await add_product(session_factory, name="Футболка «Ранок»")
    order = await order_in(orders, 1, OrderStatus.NEW, product.sku, qty=2)

    answer = await client.put(
        f"/api/v1/admin/products/{product.sku}/stock",
        json={"size": "S", "colour": "чорний", "qty": 1},
        headers=ADMIN,
    )

    assert answer.status_code == 200, answer.text
    [line] = [s for s in answer.json()["stock"] if (s["size"], s["colour"]) == ("S", "чорний")]
    assert line == {
        "size": "S",
        "colour": "чорний",
        "on_hand": 1,
        "reserved": 2,
        "available": 0,
        "short": True,
    }
    card = (await client.get(f"/api/v1/products/{product.sku}")).json()
    assert {(v["size"], v["colour"]): v["available"] for v in card["variants"]}[
        ("S", "чорний")
    ] == 0
    public = await client.get(f"/api/v1/products/{product.sku}/stock", params={"size": "S"})
    assert public.json()["variants"][0] == {"size": "S", "colour": "чорний", "available": 0}
    confirmed = await orders.change_status(order.id, OrderStatus.CONFIRMED, manager(5))
    assert confirmed.lines[0].qty == 2  # the reservation stands
    [text] = await notices(session_factory)
    assert (
        f"{product.sku} «Футболка «Ранок»» S / чорний: на складі 1, у відкритих замовленнях 2"
        in text
    )
    with pytest.raises(SoldOutError):
        await orders.start_order(2, product.sku, "S", "чорний")


async def test_admin_stock_write_of_the_same_count_writes_nothing(session_factory, client):
    product = await add_product(session_factory)
    version = await catalog_version(session_factory)

    answer = await client.put(
        f"/api/v1/admin/products/{product.sku}/stock",
        json={"size": "S", "colour": "чорний", "qty": 3},
        headers=ADMIN,
    )

    assert answer.status_code == 200
    assert await catalog_version(session_factory) == version


async def test_import_below_reserved_keeps_orders_reports_and_tells_the_managers(
    orders, session_factory, tmp_path
):
    path = write_yaml(
        tmp_path, [product(SKU, stock=[{"size": "M", "colour": "бежевий", "qty": 2}])]
    )
    await import_file(session_factory, path)
    await orders.start_order(1, SKU, "M", "бежевий", qty=2)
    lowered = write_yaml(tmp_path, [product(SKU, stock=ONE_PIECE)])

    dry = await import_catalog(session_factory, load(lowered), dry_run=True)
    plan = await import_file(session_factory, lowered)

    expected = Shortfall(
        sku=SKU, name="Костюм «Мрія»", size="M", colour="бежевий", on_hand=1, reserved=2
    )
    assert dry.shortfalls == plan.shortfalls == [expected]
    assert plan.summary().endswith(
        "unchanged 0; 1 variant(s) below their open orders (KR-KS-001 M/бежевий: on hand 1, "
        "reserved 2; managers told)"
    )
    level = await level_of(session_factory, SKU, "M", "бежевий")
    assert (level.on_hand, level.reserved, level.available) == (1, 2, 0)
    [text] = await notices(session_factory)
    assert "імпорт каталогу" in text and "на складі 1, у відкритих замовленнях 2" in text


async def test_a_variant_dropped_from_the_file_with_open_orders_is_reported(
    orders, session_factory, tmp_path
):
    await import_file(session_factory, write_yaml(tmp_path, [product(SKU, stock=ONE_PIECE)]))
    await orders.start_order(1, SKU, "M", "бежевий")
    smaller = product(SKU, sizes=["S", "L"], stock=[])

    plan = await import_file(session_factory, write_yaml(tmp_path, [smaller]))

    assert [(s.size, s.on_hand, s.reserved) for s in plan.shortfalls] == [("M", 0, 1)]


# Concurrency -----------------------------------------------------------------------------------


async def test_a_rush_during_imports_and_restocking_never_oversells_or_deadlocks(
    orders, session_factory, client, tmp_path
):
    """Reservations, imports and admin writes lock in one order: all finish, none oversells."""
    path = write_yaml(
        tmp_path, [product(SKU, stock=[{"size": "M", "colour": "бежевий", "qty": 5}])]
    )
    await import_file(session_factory, path)
    other = write_yaml(
        tmp_path / "b",
        [product(SKU, price=Decimal("1.00"), stock=[{"size": "M", "colour": "бежевий", "qty": 5}])],
    )

    async def restock():
        return await client.put(
            f"/api/v1/admin/products/{SKU}/stock",
            json={"size": "M", "colour": "бежевий", "qty": 6},
            headers=ADMIN,
        )

    results = await asyncio.wait_for(
        asyncio.gather(
            *(orders.start_order(chat, SKU, "M", "бежевий") for chat in range(1, 21)),
            import_file(session_factory, other),
            restock(),
            import_file(session_factory, path),
            return_exceptions=True,
        ),
        timeout=60,
    )

    failures = [
        r for r in results if isinstance(r, BaseException) and not isinstance(r, SoldOutError)
    ]
    assert failures == []
    placed = [r for r in results[:20] if not isinstance(r, BaseException)]
    level = await level_of(session_factory, SKU, "M", "бежевий")
    # 5 or 6 pieces were on hand at each moment: never more reservations than that.
    assert len(placed) == level.reserved <= 6
    assert level.available == max(level.on_hand - level.reserved, 0)
    assert (level.reserved > level.on_hand) == bool(await notices(session_factory))


# Cards, caches and every other reader ----------------------------------------------------------


async def test_every_change_of_availability_shows_in_the_next_card_read(
    orders, session_factory, db, clock
):
    """Reservation, cancel, expiry, shipment: each moves the version the card cache keys on."""
    product_ = await add_product(session_factory)  # S/чорний: 3
    version = CatalogVersion(db)  # not listening: every read asks the database
    cards = ProductCache(
        MemoryBackend(), partial(load_card, session_factory), ttl=60, version=version.current
    )

    async def available():
        card = await cards.get(product_.sku)
        assert card is not None
        return {(v.size, v.colour): v.available for v in card.variants}[("S", "чорний")]

    assert await available() == 3
    first = await orders.start_order(1, product_.sku, "S", "чорний")
    assert await available() == 2
    await orders.cancel(first.id, customer(1), "no")
    assert await available() == 3
    await orders.start_order(2, product_.sku, "S", "чорний", qty=3)
    assert await available() == 0
    await orders.expire_reservations(now=clock.advance(RESERVATION_MINUTES + 1))
    assert await available() == 3
    paid = await order_in(orders, 3, OrderStatus.PAID, product_.sku, qty=3)
    assert await available() == 0
    await orders.cancel(paid.id, manager(5), "refund")
    assert await available() == 3
    shipped = await order_in(orders, 4, OrderStatus.PAID, product_.sku, qty=1)
    await orders.change_status(shipped.id, OrderStatus.SHIPPED, manager(5))
    assert await available() == 2
    async with CatalogService(session_factory) as catalog:
        assert (await catalog.check_stock(product_.sku, size="S", colour="чорний")).variants[
            0
        ].available == 2
        listed = await catalog.search(in_stock=True)
    assert [item.sku for item in listed.items] == [product_.sku]


async def test_in_stock_filters_count_reservations(orders, session_factory, client):
    one = await add_product(session_factory, stock=[StockLine(size="M", colour="чорний", qty=1)])
    two = await add_product(session_factory)
    await orders.start_order(1, one.sku, "M", "чорний")

    stocked = (await client.get("/api/v1/products", params={"in_stock": "true"})).json()
    sold_out = (await client.get("/api/v1/products", params={"in_stock": "false"})).json()

    assert [p["sku"] for p in stocked["items"]] == [two.sku]
    assert [(p["sku"], p["in_stock"]) for p in sold_out["items"]] == [(one.sku, False)]
    card = (await client.get(f"/api/v1/products/{one.sku}")).json()
    assert card["in_stock"] is False


async def test_an_export_imported_back_while_orders_are_open_changes_nothing(
    orders, session_factory, tmp_path
):
    await import_file(session_factory, write_yaml(tmp_path / "in", [product(SKU)]))
    await orders.start_order(1, SKU, "M", "бежевий", qty=2)
    out = tmp_path / "out" / "products_master.yaml"
    await export_catalog(session_factory, out)
    version = await catalog_version(session_factory)

    plan = await import_file(session_factory, out)

    assert "{size: M, colour: бежевий, qty: 5}" in out.read_text(encoding="utf-8")
    assert (plan.changed, plan.unchanged, plan.shortfalls) == ({}, 1, [])
    assert await catalog_version(session_factory) == version


async def test_shipping_during_a_checkout_rush_never_deadlocks(orders, session_factory):
    """Shipping locks the variant rows before its status change takes the catalog version row."""
    product_ = await add_product(
        session_factory, stock=[StockLine(size="S", colour="чорний", qty=40)]
    )
    paid = [await order_in(orders, 100 + n, OrderStatus.PAID, product_.sku) for n in range(10)]

    results = await asyncio.wait_for(
        asyncio.gather(
            *(orders.change_status(o.id, OrderStatus.SHIPPED, manager(5)) for o in paid),
            *(orders.start_order(chat, product_.sku, "S", "чорний") for chat in range(1, 21)),
            return_exceptions=True,
        ),
        timeout=60,
    )

    assert [r for r in results if isinstance(r, BaseException)] == []
    level = await level_of(session_factory, product_.sku, "S", "чорний")
    assert (level.on_hand, level.reserved, level.available) == (30, 20, 10)
