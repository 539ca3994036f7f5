"""Small factories for test data; every call builds fresh objects."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.catalog.schemas import ProductIn, StockLine
from app.catalog.service import CatalogService

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.catalog.schemas import Product

_numbers = itertools.count(1)


def product_in(**overrides: Any) -> ProductIn:
    """A valid product: a black/white T-shirt in S/M/L with some stock."""
    number = next(_numbers)
    fields: dict[str, Any] = {
        "sku": f"KR-TEST-{number:04d}",
        "name": f"Футболка базова {number}",
        "category": "футболки",
        "price": Decimal("599.00"),
        "description": "Бавовняна футболка прямого крою.",
        "sizes": ["S", "M", "L"],
        "colours": ["чорний", "білий"],
        "stock": [
            StockLine(size="S", colour="чорний", qty=3),
            StockLine(size="M", colour="чорний", qty=1),
            StockLine(size="L", colour="білий", qty=2),
        ],
        "visual_features": "Чорна футболка з круглим вирізом.",
        "recognition_tips": "Без принтів.",
        "tags": ["бавовна", "базова"],
    }
    fields.update(overrides)
    return ProductIn(**fields)


async def add_product(
    session_factory: async_sessionmaker[AsyncSession], **overrides: Any
) -> Product:
    async with CatalogService(session_factory) as catalog:
        return await catalog.create_product(product_in(**overrides))
