"""Order statuses, delivery methods and the one table of allowed status changes."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    """Where an order is in its life.

    `draft`: the customer is checking out; the chosen variant is reserved until `reserved_until`
    and the expiry job cancels the draft (releasing the reservation) once that passes.
    `new`: the customer confirmed the summary; the reservation no longer expires but is held
    until a manager confirms or cancels the order, because the manager must be able to rely on
    the goods still being there when they call the customer.
    `shipped`: the goods have left; their pieces were taken off on hand, so the lines no longer
    reserve anything. See `OPEN`.
    """

    DRAFT = "draft"
    NEW = "new"
    CONFIRMED = "confirmed"
    PAID = "paid"
    SHIPPED = "shipped"
    DONE = "done"
    CANCELLED = "cancelled"


class DeliveryMethod(StrEnum):
    NOVA_POSHTA = "nova_poshta"
    COURIER = "courier"


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.DRAFT: frozenset({OrderStatus.NEW, OrderStatus.CANCELLED}),
    OrderStatus.NEW: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED}),
    # Shipped goods come back as a return, not a cancellation: that is a manager's job by hand.
    OrderStatus.SHIPPED: frozenset({OrderStatus.DONE}),
    OrderStatus.DONE: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
"""Status → the statuses it may change to; anything else is an `IllegalTransitionError`."""

OPEN = frozenset({OrderStatus.DRAFT, OrderStatus.NEW, OrderStatus.CONFIRMED, OrderStatus.PAID})
"""Statuses whose lines reserve their pieces. The `variant_stock` view (migration 0009) spells the
same list in SQL; `tests/orders/test_stock.py` checks that the two agree."""

# Statuses in which the customer's contact and delivery may still be changed.
EDITABLE = frozenset({OrderStatus.DRAFT, OrderStatus.NEW})


def can_change(from_status: OrderStatus, to_status: OrderStatus) -> bool:
    return to_status in TRANSITIONS[from_status]


def sql_list(values: type[StrEnum]) -> str:
    """`'a', 'b'` for a CHECK constraint, so the database refuses values the code does not know."""
    return ", ".join(f"'{value.value}'" for value in values)
