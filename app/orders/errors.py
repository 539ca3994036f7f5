"""Order errors; the API maps each to an HTTP status with its message.

Unknown products and variants are the catalog's own errors (`app.catalog.errors`): a caller of
`start_order` handles both families.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


class OrderError(Exception):
    """Base of all order errors; `str(error)` is a message a person can act on."""

    status_code = 400


class OrderNotFoundError(OrderError):
    status_code = 404

    def __init__(self, order_id: int) -> None:
        super().__init__(f"no order with id {order_id}")
        self.order_id = order_id


class SoldOutError(OrderError):
    """The last pieces went to someone else; the bot offers another size or colour."""

    status_code = 409

    def __init__(self, sku: str, size: str, colour: str, wanted: int = 1) -> None:
        pieces = "the item" if wanted == 1 else f"{wanted} pieces"
        super().__init__(f"{sku} in size {size}, colour {colour} is sold out ({pieces} wanted)")
        self.sku = sku
        self.size = size
        self.colour = colour


class IllegalTransitionError(OrderError):
    status_code = 409

    def __init__(self, number: str, from_status: str, to_status: str) -> None:
        super().__init__(f"order {number} is {from_status}; it cannot become {to_status}")
        self.from_status = from_status
        self.to_status = to_status


class IncompleteOrderError(OrderError):
    """Confirming an order that still lacks what the manager needs to ship it."""

    status_code = 409

    def __init__(self, number: str, missing: Iterable[str]) -> None:
        self.missing = list(missing)
        super().__init__(
            f"order {number} cannot be confirmed yet: missing {', '.join(self.missing)}"
        )


class ReservationExpiredError(OrderError):
    """The draft's reservation lapsed; the customer has to choose the item again."""

    status_code = 409

    def __init__(self, number: str) -> None:
        super().__init__(f"the reservation of order {number} has expired; choose the item again")


class OrderNotEditableError(OrderError):
    status_code = 409

    def __init__(self, number: str, status: str) -> None:
        super().__init__(
            f"order {number} is {status}: its contact and delivery can no longer change"
        )


class InvalidOrderDataError(OrderError):
    """A value given for an order (phone, delivery, quantity) is not acceptable."""

    status_code = 422


class InvalidPhoneError(InvalidOrderDataError):
    def __init__(self, phone: str) -> None:
        super().__init__(
            f"{phone!r} is not a Ukrainian phone number; "
            "write it as +380 67 123 45 67 or 067 123 45 67"
        )
        self.phone = phone
