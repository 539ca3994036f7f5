"""Shapes of orders at the edges: API answers and admin request bodies."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from app.inputs import CleanInput
from app.orders.status import DeliveryMethod, OrderStatus


class OrderLine(BaseModel):
    """One item as it was ordered: name and price are copies from the time of the order."""

    sku: str
    name: str
    size: str
    colour: str
    qty: int
    unit_price: Decimal = Field(description="Price of one piece in UAH at the time of the order")
    line_total: Decimal = Field(description="unit_price × qty in UAH")


class OrderEvent(BaseModel):
    """One entry of the order's history."""

    from_status: OrderStatus | None = Field(description="null for the event that created it")
    to_status: OrderStatus
    actor: str = Field(description="customer:<chat>, manager:<user>, admin-api or system:expiry")
    note: str | None
    at: datetime


class OrderSummary(BaseModel):
    """An order in a list."""

    id: int
    number: str = Field(description="The number customers and managers quote, e.g. KR-000123")
    chat_id: int = Field(description="Telegram chat of the customer")
    status: OrderStatus
    customer_name: str | None
    total: Decimal = Field(description="Sum of the lines in UAH")
    currency: str = "UAH"
    created_at: datetime
    updated_at: datetime


class Order(OrderSummary):
    """An order with its items, delivery and history."""

    phone: str | None = Field(description="+380XXXXXXXXX")
    delivery_method: DeliveryMethod | None
    city: str | None
    branch: str | None = Field(description="Nova Poshta branch, for nova_poshta delivery")
    address: str | None = Field(description="Street address, for courier delivery")
    reserved_until: datetime | None = Field(
        description="Drafts only: when the reservation lapses and the stock goes back on sale"
    )
    lines: list[OrderLine]
    events: list[OrderEvent]


class OrderPage(BaseModel):
    items: list[OrderSummary]
    total: int
    limit: int
    offset: int


class StatusChange(CleanInput):
    """A manager's move of an order to another status."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: OrderStatus
    note: str | None = Field(default=None, max_length=1000, description="Why, for the history")
