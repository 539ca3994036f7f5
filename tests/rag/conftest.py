"""RAG fixtures: clean RAG tables, a few products, the demo catalog."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import delete

from app.catalog.importer import import_catalog, load_catalog
from app.catalog.schemas import ProductIn
from app.catalog.service import CatalogService
from app.rag.embedders import HashingEmbedder
from app.rag.models import EmbeddingIndex, ProductEmbedding

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

DEMO = Path(__file__).resolve().parents[2] / "data" / "catalog" / "products_master.yaml"


def product_in(sku: str, name: str, **overrides: Any) -> ProductIn:
    fields: dict[str, Any] = {
        "sku": sku,
        "name": name,
        "category": "костюми",
        "price": Decimal("1500.00"),
        "description": "Теплий костюм на кожен день.",
        "sizes": ["S", "M"],
        "colours": ["чорний"],
        "stock": [{"size": "M", "colour": "чорний", "qty": 2}],
        "tags": [],
    }
    fields.update(overrides)
    return ProductIn.model_validate(fields)


async def add_products(
    session_factory: async_sessionmaker[AsyncSession], *products: ProductIn
) -> None:
    async with CatalogService(session_factory) as service:
        for item in products:
            await service.create_product(item)


@pytest.fixture(name="rag_db")
async def fx_rag_db(
    session_factory: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """The test database with empty RAG tables (the `db` fixture empties catalog tables)."""
    async with session_factory() as session, session.begin():
        await session.execute(delete(ProductEmbedding))
        await session.execute(delete(EmbeddingIndex))
    return session_factory


@pytest.fixture(name="embedder")
def fx_embedder() -> HashingEmbedder:
    return HashingEmbedder()


@pytest.fixture(name="demo_catalog")
async def fx_demo_catalog(
    rag_db: async_sessionmaker[AsyncSession],
) -> async_sessionmaker[AsyncSession]:
    """The 39-product demo catalog, imported (not yet indexed)."""
    items = load_catalog(DEMO, max_catalog_bytes=20_000_000, max_photo_bytes=5_000_000)
    await import_catalog(rag_db, items)
    return rag_db
