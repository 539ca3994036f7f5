"""Fixtures for orders: the service on the test database with a clock the test moves."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select

from app.catalog.models import Product, Variant
from app.catalog.stock import Level, levels
from app.orders.api import AdminOrderController
from app.orders.service import OrderService

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Litestar
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

RESERVATION_MINUTES = 30


@dataclass
class Clock:
    """A clock that stands still until the test moves it."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, minutes: float) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


@pytest.fixture(name="clock")
def fx_clock() -> Clock:
    return Clock()


@pytest.fixture(name="orders")
def fx_orders(session_factory: async_sessionmaker[AsyncSession], clock: Clock) -> OrderService:
    return OrderService(session_factory, reservation_minutes=RESERVATION_MINUTES, clock=clock)


async def level_of(
    session_factory: async_sessionmaker[AsyncSession], sku: str, size: str, colour: str
) -> Level:
    """On hand, reserved and available of one variant, as the database computes them now."""
    async with session_factory() as session:
        variant_id = await session.scalar(
            select(Variant.id)
            .join(Product)
            .where(Product.sku == sku, Variant.size == size, Variant.colour == colour)
        )
        assert variant_id is not None
        return (await levels(session, [variant_id]))[variant_id]


async def available_of(
    session_factory: async_sessionmaker[AsyncSession], sku: str, size: str, colour: str
) -> int:
    """The pieces of one variant a customer can order now."""
    return (await level_of(session_factory, sku, size, colour)).available


@pytest.fixture(name="orders_client")
async def fx_orders_client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The real app with the orders admin API, whether or not create_app wires it yet."""
    if not any(route.path.startswith(AdminOrderController.path) for route in app.routes):
        app.register(AdminOrderController)
    async with AsyncTestClient(app) as client:
        yield client
