"""The order service against the real database: reservations, the workflow and its history."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from prometheus_client import REGISTRY

from app.catalog.errors import ProductNotFoundError, VariantNotFoundError
from app.catalog.schemas import StockLine
from app.catalog.service import CatalogService
from app.orders.errors import (
    IllegalTransitionError,
    IncompleteOrderError,
    InvalidOrderDataError,
    InvalidPhoneError,
    OrderNotEditableError,
    OrderNotFoundError,
    ReservationExpiredError,
    SoldOutError,
)
from app.orders.service import EXPIRY_ACTOR, OrderService, customer, manager
from app.orders.status import DeliveryMethod, OrderStatus
from tests.factories import add_product
from tests.orders.conftest import RESERVATION_MINUTES, available_of

CHAT = 1001


def one_piece(**overrides):
    """Stock lines of a product with exactly one M/чорний left."""
    return {"stock": [StockLine(size="M", colour="чорний", qty=1)], **overrides}


async def checkout_ready(orders, chat=CHAT, **start):
    """A draft with contact and delivery filled in, ready to confirm."""
    order = await orders.start_order(chat, **start)
    await orders.set_contact(order.id, "Олена Коваль", "067 123 45 67")
    return await orders.set_delivery(order.id, "nova_poshta", "Київ", branch="Відділення №12")


def orders_entered(status):
    return REGISTRY.get_sample_value("orders_total", {"status": status}) or 0.0


async def test_order_keeps_the_catalog_price_of_its_time(orders, session_factory):
    product = await add_product(session_factory, price=Decimal("799.50"))
    order = await orders.start_order(CHAT, product.sku, "S", "чорний", qty=2)

    async with CatalogService(session_factory) as catalog:
        await catalog.set_price(product.sku, Decimal("999.00"))

    again = await orders.get(order.id)
    assert again.lines[0].unit_price == Decimal("799.50")
    assert again.lines[0].line_total == again.total == Decimal("1599.00")
    assert (again.currency, again.number) == ("UAH", f"KR-{order.id:06d}")


async def test_start_order_reserves_the_variant_until_the_reservation_ends(
    orders, session_factory, clock
):
    product = await add_product(session_factory)
    order = await orders.start_order(CHAT, product.sku, "s", "ЧОРНИЙ")

    assert order.status is OrderStatus.DRAFT
    assert (order.lines[0].size, order.lines[0].colour) == ("S", "чорний")
    assert order.reserved_until == clock.now + timedelta(minutes=RESERVATION_MINUTES)
    assert await available_of(session_factory, product.sku, "S", "чорний") == 2
    assert [(e.from_status, e.to_status, e.actor) for e in order.events] == [
        (None, OrderStatus.DRAFT, customer(CHAT))
    ]
    assert (await orders.draft_for(CHAT)) == order


async def test_last_piece_goes_to_exactly_one_of_two_concurrent_customers(orders, session_factory):
    product = await add_product(session_factory, **one_piece())

    results = await asyncio.gather(
        orders.start_order(1, product.sku, "M", "чорний"),
        orders.start_order(2, product.sku, "M", "чорний"),
        return_exceptions=True,
    )

    sold_out = [r for r in results if isinstance(r, SoldOutError)]
    placed = [r for r in results if not isinstance(r, BaseException)]
    assert (len(placed), len(sold_out)) == (1, 1)
    assert (sold_out[0].sku, sold_out[0].size, sold_out[0].colour) == (product.sku, "M", "чорний")
    assert await available_of(session_factory, product.sku, "M", "чорний") == 0


async def test_more_pieces_than_in_stock_take_nothing(orders, session_factory):
    product = await add_product(session_factory)

    with pytest.raises(SoldOutError, match="sold out"):
        await orders.start_order(CHAT, product.sku, "S", "чорний", qty=4)

    assert await available_of(session_factory, product.sku, "S", "чорний") == 3
    assert await orders.draft_for(CHAT) is None


async def test_unknown_product_or_variant_is_the_catalog_error(orders, session_factory):
    product = await add_product(session_factory)
    with pytest.raises(ProductNotFoundError):
        await orders.start_order(CHAT, "KR-NOPE-1", "S", "чорний")
    with pytest.raises(VariantNotFoundError):
        await orders.start_order(CHAT, product.sku, "XXL", "чорний")
    with pytest.raises(InvalidOrderDataError, match="quantity"):
        await orders.start_order(CHAT, product.sku, "S", "чорний", qty=0)


async def test_choosing_another_item_replaces_the_draft_item_and_returns_its_stock(
    orders, session_factory
):
    product = await add_product(session_factory)
    first = await orders.start_order(CHAT, product.sku, "S", "чорний")

    second = await orders.start_order(CHAT, product.sku, "L", "білий", qty=2)

    assert second.id == first.id
    assert [(line.size, line.qty) for line in second.lines] == [("L", 2)]
    assert second.total == Decimal("1198.00")
    assert await available_of(session_factory, product.sku, "S", "чорний") == 3
    assert await available_of(session_factory, product.sku, "L", "білий") == 0
    assert second.events[-1].note is not None and "item changed" in second.events[-1].note


async def test_choosing_the_same_last_piece_again_keeps_it(orders, session_factory):
    product = await add_product(session_factory, **one_piece())
    await orders.start_order(CHAT, product.sku, "M", "чорний")

    again = await orders.start_order(CHAT, product.sku, "M", "чорний")

    assert again.lines[0].qty == 1
    assert await available_of(session_factory, product.sku, "M", "чорний") == 0


async def test_a_sold_out_replacement_keeps_the_old_reservation(orders, session_factory):
    product = await add_product(session_factory, **one_piece())
    other = await add_product(session_factory)
    draft = await orders.start_order(CHAT, other.sku, "S", "чорний")
    await orders.start_order(2, product.sku, "M", "чорний")  # someone takes the last M

    with pytest.raises(SoldOutError):
        await orders.start_order(CHAT, product.sku, "M", "чорний")

    assert await orders.draft_for(CHAT) == draft
    assert await available_of(session_factory, other.sku, "S", "чорний") == 2


async def test_a_redelivered_update_returns_the_same_order_and_reserves_nothing_more(
    orders, session_factory
):
    product = await add_product(session_factory)
    first = await orders.start_order(CHAT, product.sku, "S", "чорний", idempotency_key="tg:7")

    again = await orders.start_order(CHAT, product.sku, "S", "чорний", idempotency_key="tg:7")

    assert again == first
    assert await available_of(session_factory, product.sku, "S", "чорний") == 2


async def test_concurrent_redeliveries_make_one_order(orders, session_factory):
    product = await add_product(session_factory)

    results = await asyncio.gather(
        *(
            orders.start_order(CHAT, product.sku, "S", "чорний", idempotency_key="tg:8")
            for _ in range(3)
        )
    )

    assert len({r.id for r in results}) == 1
    assert await available_of(session_factory, product.sku, "S", "чорний") == 2


async def test_two_quick_choices_in_one_chat_leave_one_draft_with_the_later_item(
    orders, session_factory
):
    product = await add_product(session_factory)

    placed = await asyncio.gather(
        orders.start_order(CHAT, product.sku, "S", "чорний"),
        orders.start_order(CHAT, product.sku, "L", "білий"),
    )

    assert placed[0].id == placed[1].id
    final = await orders.draft_for(CHAT)
    assert final is not None and len(final.lines) == 1
    taken = 3 - await available_of(session_factory, product.sku, "S", "чорний")
    taken += 2 - await available_of(session_factory, product.sku, "L", "білий")
    assert taken == 1


async def test_the_same_update_id_in_two_chats_makes_two_orders(orders, session_factory):
    # Telegram restarts update ids at random after a week without updates: an old key of
    # another chat must never hand this customer that chat's order.
    product = await add_product(session_factory)
    first = await orders.start_order(1, product.sku, "S", "чорний", idempotency_key="tg:30")

    second = await orders.start_order(2, product.sku, "S", "чорний", idempotency_key="tg:30")

    assert second.id != first.id and second.chat_id == 2
    assert await available_of(session_factory, product.sku, "S", "чорний") == 1


async def test_a_key_one_order_used_changes_another_order_all_the_same(orders, session_factory):
    product = await add_product(session_factory)
    first = await orders.start_order(1, product.sku, "S", "чорний", idempotency_key="tg:31")
    second = await orders.start_order(2, product.sku, "S", "чорний")
    await orders.cancel(first.id, customer(1), "changed my mind")

    cancelled = await orders.change_status(
        second.id, OrderStatus.CANCELLED, customer(2), idempotency_key="tg:31"
    )

    assert cancelled.status is OrderStatus.CANCELLED
    assert (await orders.get(first.id)).status is OrderStatus.CANCELLED


async def test_cancel_returns_the_stock_exactly_once(orders, session_factory):
    product = await add_product(session_factory)
    order = await orders.start_order(CHAT, product.sku, "S", "чорний", qty=2)

    cancelled = await orders.cancel(order.id, customer(CHAT), "changed my mind")
    with pytest.raises(IllegalTransitionError, match="cancelled"):
        await orders.cancel(order.id, manager(5), "again")

    assert cancelled.status is OrderStatus.CANCELLED
    assert cancelled.events[-1].note == "changed my mind"
    assert await available_of(session_factory, product.sku, "S", "чорний") == 3
    assert await orders.draft_for(CHAT) is None


async def test_cancelling_a_paid_order_returns_its_stock(orders, session_factory):
    product = await add_product(session_factory)
    order = await checkout_ready(orders, sku=product.sku, size="L", colour="білий")
    await orders.confirm(order.id, customer(CHAT))
    await orders.change_status(order.id, OrderStatus.CONFIRMED, manager(5))
    await orders.change_status(order.id, OrderStatus.PAID, manager(5))

    await orders.cancel(order.id, manager(5), "the customer asked for a refund")

    assert await available_of(session_factory, product.sku, "L", "білий") == 2


async def test_expired_drafts_are_cancelled_and_their_stock_returned(
    orders, session_factory, clock
):
    product = await add_product(session_factory)
    old = await orders.start_order(1, product.sku, "S", "чорний")
    clock.advance(RESERVATION_MINUTES - 5)
    fresh = await orders.start_order(2, product.sku, "S", "чорний")

    expired = await orders.expire_reservations(now=clock.advance(10))

    assert expired == 1
    gone = await orders.get(old.id)
    assert gone.status is OrderStatus.CANCELLED and gone.reserved_until is None
    assert (gone.events[-1].actor, gone.events[-1].to_status) == (
        EXPIRY_ACTOR,
        OrderStatus.CANCELLED,
    )
    assert (await orders.get(fresh.id)).status is OrderStatus.DRAFT
    assert await available_of(session_factory, product.sku, "S", "чорний") == 2
    assert await orders.expire_reservations(now=clock.now) == 0


async def test_replicas_expiring_at_once_expire_each_draft_once(orders, session_factory, clock):
    product = await add_product(session_factory)
    for chat in (1, 2, 3):
        await orders.start_order(chat, product.sku, "S", "чорний")
    later = clock.advance(RESERVATION_MINUTES + 1)

    counts = await asyncio.gather(*(orders.expire_reservations(now=later) for _ in range(4)))

    assert sum(counts) == 3
    assert await available_of(session_factory, product.sku, "S", "чорний") == 3


async def test_confirm_needs_contact_and_delivery(orders, session_factory):
    product = await add_product(session_factory)
    order = await orders.start_order(CHAT, product.sku, "S", "чорний")

    with pytest.raises(IncompleteOrderError) as refused:
        await orders.confirm(order.id, customer(CHAT))

    assert refused.value.missing == ["the name", "the phone", "the delivery"]


async def test_confirmed_order_no_longer_expires(orders, session_factory, clock):
    product = await add_product(session_factory)
    order = await checkout_ready(orders, sku=product.sku, size="S", colour="чорний")
    new_before = orders_entered("new")

    placed = await orders.confirm(order.id, customer(CHAT))

    assert placed.status is OrderStatus.NEW and placed.reserved_until is None
    assert placed.phone == "+380671234567"
    assert orders_entered("new") == new_before + 1
    assert await orders.expire_reservations(now=clock.advance(24 * 60)) == 0
    assert await available_of(session_factory, product.sku, "S", "чорний") == 2


async def test_confirm_after_the_reservation_lapsed_is_refused(orders, session_factory, clock):
    product = await add_product(session_factory)
    order = await checkout_ready(orders, sku=product.sku, size="S", colour="чорний")
    clock.advance(RESERVATION_MINUTES)

    with pytest.raises(ReservationExpiredError, match="choose the item again"):
        await orders.confirm(order.id, customer(CHAT))

    assert (await orders.get(order.id)).status is OrderStatus.DRAFT


async def test_a_redelivered_confirm_changes_nothing_more(orders, session_factory):
    product = await add_product(session_factory)
    order = await checkout_ready(orders, sku=product.sku, size="S", colour="чорний")
    first = await orders.confirm(order.id, customer(CHAT), idempotency_key="tg:20")

    again = await orders.confirm(order.id, customer(CHAT), idempotency_key="tg:20")

    assert again == first
    assert [e.to_status for e in again.events].count(OrderStatus.NEW) == 1


async def test_illegal_transition_is_refused_and_changes_nothing(orders, session_factory):
    product = await add_product(session_factory)
    order = await orders.start_order(CHAT, product.sku, "S", "чорний")

    with pytest.raises(IllegalTransitionError, match="draft; it cannot become shipped"):
        await orders.change_status(order.id, OrderStatus.SHIPPED, manager(5))

    unchanged = await orders.get(order.id)
    assert unchanged.status is OrderStatus.DRAFT and len(unchanged.events) == 1


async def test_the_whole_workflow_records_who_did_each_step(orders, session_factory):
    product = await add_product(session_factory)
    order = await checkout_ready(orders, sku=product.sku, size="S", colour="чорний")
    await orders.confirm(order.id, customer(CHAT))
    for status in ("confirmed", "paid", "shipped"):
        await orders.change_status(order.id, OrderStatus(status), manager(5))
    done = await orders.change_status(order.id, OrderStatus.DONE, "admin-api", note="received")

    assert [(e.from_status, e.to_status, e.actor) for e in done.events] == [
        (None, "draft", customer(CHAT)),
        ("draft", "new", customer(CHAT)),
        ("new", "confirmed", manager(5)),
        ("confirmed", "paid", manager(5)),
        ("paid", "shipped", manager(5)),
        ("shipped", "done", "admin-api"),
    ]
    assert done.events[-1].note == "received"
    with pytest.raises(IllegalTransitionError):
        await orders.cancel(order.id, manager(5), "too late")


async def test_contact_and_delivery_are_checked(orders, session_factory):
    product = await add_product(session_factory)
    order = await orders.start_order(CHAT, product.sku, "S", "чорний")

    with pytest.raises(InvalidPhoneError):
        await orders.set_contact(order.id, "Олена", "+48 601 234 567")
    with pytest.raises(InvalidOrderDataError, match="name"):
        await orders.set_contact(order.id, "   ", "0671234567")
    with pytest.raises(InvalidOrderDataError, match="branch"):
        await orders.set_delivery(order.id, "nova_poshta", "Київ")
    with pytest.raises(InvalidOrderDataError, match="address"):
        await orders.set_delivery(order.id, DeliveryMethod.COURIER, "Київ", branch="12")
    with pytest.raises(InvalidOrderDataError, match="unknown delivery method"):
        await orders.set_delivery(order.id, "pigeon", "Київ", address="вул. Січова, 1")

    courier = await orders.set_delivery(
        order.id, "courier", " Київ ", branch="12", address="вул.  Січова, 1"
    )
    assert (courier.city, courier.branch, courier.address) == ("Київ", None, "вул. Січова, 1")


async def test_contact_cannot_change_after_the_manager_confirmed(orders, session_factory):
    product = await add_product(session_factory)
    order = await checkout_ready(orders, sku=product.sku, size="S", colour="чорний")
    await orders.confirm(order.id, customer(CHAT))
    await orders.change_status(order.id, OrderStatus.CONFIRMED, manager(5))

    with pytest.raises(OrderNotEditableError):
        await orders.set_contact(order.id, "Інша", "0501234567")


async def test_unknown_order_is_not_found(orders):
    with pytest.raises(OrderNotFoundError):
        await orders.get(424242)
    with pytest.raises(OrderNotFoundError):
        await orders.cancel(424242, manager(5), "no such")


async def test_list_filters_by_status_newest_first(orders, session_factory):
    product = await add_product(session_factory)
    first = await orders.start_order(1, product.sku, "S", "чорний")
    second = await orders.start_order(2, product.sku, "S", "чорний")
    await orders.cancel(first.id, customer(1), "no")

    drafts = await orders.list_orders(OrderStatus.DRAFT)
    everything = await orders.list_orders(limit=1, offset=0)

    assert [o.id for o in drafts.items] == [second.id]
    assert (everything.total, [o.id for o in everything.items]) == (2, [second.id])


async def test_one_service_serves_concurrent_chats(session_factory):
    """No state between calls: the bot shares one service across all its handlers."""
    product = await add_product(session_factory)
    orders = OrderService(session_factory)

    placed = await asyncio.gather(
        *(orders.start_order(chat, product.sku, "S", "чорний") for chat in (1, 2, 3))
    )

    assert len({o.id for o in placed}) == 3
    assert await available_of(session_factory, product.sku, "S", "чорний") == 0
