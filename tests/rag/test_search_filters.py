"""Filters narrow retrieval without starving it: k hits whenever k products pass the filters.

pgvector 0.6 filters the ef_search rows an HNSW scan returns, after the scan. In each catalog
here more than ef_search products that fail the filter are nearer the query than any that pass.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from app.db.engine import create_session_factory
from app.rag.indexer import reindex
from app.rag.search import retrieve
from tests.rag.conftest import add_products, product_in

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    from app.catalog.schemas import ProductIn

QUERY = "рожевий костюм з блискавкою"
NEAR = 60
EF_SEARCH = 20


@pytest.fixture(name="index_first")
async def fx_index_first(
    engine: AsyncEngine, rag_db: async_sessionmaker[AsyncSession]
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions whose planner takes the HNSW index, as it does for a catalog of thousands: on
    a few dozen rows it would rather scan and sort them all, and no filter could starve it."""
    # pgvector's own advice for testing an index on a small table; sorts too, or the planner
    # would read every product by primary key and sort them.
    settings = {"enable_seqscan": "off", "enable_sort": "off"}
    planner = create_async_engine(engine.url, connect_args={"server_settings": settings})
    yield create_session_factory(planner)
    await planner.dispose()


def suits(**overrides: Any) -> list[ProductIn]:
    """NEAR pink suits with the same description: the nearest products to QUERY."""
    return [
        product_in(
            f"KR-KS-{n:03d}",
            f"Костюм Лагуна {n}",
            description="Рожевий костюм з блискавкою, теплий трикотаж.",
            **overrides,
        )
        for n in range(NEAR)
    ]


def far(prefix: str, name: str, category: str) -> list[ProductIn]:
    """Three products that share no word with QUERY."""
    return [
        product_in(
            f"KR-{prefix}-{n:03d}",
            f"{name} {n}",
            category=category,
            description="Сіра річ оверсайз із капюшоном.",
        )
        for n in range(3)
    ]


async def test_a_small_category_gets_all_k_although_the_query_is_near_another(
    rag_db, index_first, embedder
):
    await add_products(rag_db, *suits(), *far("HD", "Худі Вайб", "худі"))
    await reindex(rag_db, embedder)

    hits = await retrieve(index_first, embedder, QUERY, k=3, category="Худі", ef_search=EF_SEARCH)

    assert sorted(h.sku for h in hits) == ["KR-HD-000", "KR-HD-001", "KR-HD-002"]
    assert {h.source for h in hits} == {"vector"}


async def test_in_stock_gets_all_k_although_the_nearest_are_sold_out(rag_db, index_first, embedder):
    sold_out = [{"size": "M", "colour": "чорний", "qty": 0}]
    await add_products(rag_db, *suits(stock=sold_out), *far("DR", "Сукня Вишня", "сукні"))
    await reindex(rag_db, embedder)

    hits = await retrieve(index_first, embedder, QUERY, k=3, in_stock=True, ef_search=EF_SEARCH)

    assert sorted(h.sku for h in hits) == ["KR-DR-000", "KR-DR-001", "KR-DR-002"]


async def test_the_exact_scan_keeps_the_vector_order(rag_db, index_first, embedder):
    await add_products(
        rag_db,
        *suits(),
        product_in("KR-HD-001", "Худі Альпи", category="худі", description="Рожеве худі."),
        product_in("KR-HD-002", "Худі Вайб", category="худі", description="Сіре худі."),
    )
    await reindex(rag_db, embedder)

    hits = await retrieve(index_first, embedder, "рожеве худі", k=2, category="худі")

    assert [h.sku for h in hits] == ["KR-HD-001", "KR-HD-002"]
