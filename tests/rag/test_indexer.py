from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select, text

from app.catalog.schemas import ProductUpdate
from app.catalog.service import CatalogService
from app.rag.embedders import HashingEmbedder
from app.rag.indexer import reindex
from app.rag.models import EmbeddingIndex, ProductEmbedding
from tests.rag.conftest import add_products, product_in


async def stored(session_factory) -> dict[int, tuple[str, str]]:
    async with session_factory() as session:
        rows = await session.execute(
            select(
                ProductEmbedding.product_id,
                ProductEmbedding.embedder,
                ProductEmbedding.content_hash,
            )
        )
        return {pid: (name, digest) for pid, name, digest in rows}


async def test_first_reindex_embeds_every_product_and_records_the_embedder(rag_db, embedder):
    await add_products(rag_db, product_in("KR-A-001", "Костюм А"), product_in("KR-B-001", "Худі Б"))

    report = await reindex(rag_db, embedder)

    assert (report.products, report.embedded, report.unchanged, report.rebuilt) == (2, 2, 0, True)
    async with rag_db() as session:
        index = await session.get(EmbeddingIndex, 1)
    assert index is not None
    assert (index.embedder, index.dim) == (embedder.name, embedder.dim)


async def test_second_reindex_embeds_nothing(rag_db, embedder):
    await add_products(rag_db, product_in("KR-A-001", "Костюм А"))
    await reindex(rag_db, embedder)

    report = await reindex(rag_db, embedder)

    assert (report.embedded, report.unchanged, report.rebuilt) == (0, 1, False)


async def test_changing_a_description_re_embeds_exactly_that_product(rag_db, embedder):
    await add_products(
        rag_db,
        product_in("KR-A-001", "Костюм А"),
        product_in("KR-B-001", "Худі Б"),
        product_in("KR-C-001", "Сукня В"),
    )
    await reindex(rag_db, embedder)
    before = await stored(rag_db)
    async with CatalogService(rag_db) as service:
        await service.update_product("KR-B-001", ProductUpdate(description="Тепер з капюшоном."))
        await service.set_price("KR-C-001", Decimal("999.00"))  # price is not in the embedding text

    report = await reindex(rag_db, embedder)

    after = await stored(rag_db)
    changed = {pid for pid in after if after[pid] != before[pid]}
    assert report.embedded == 1
    assert changed == {2}


async def test_deleted_products_lose_their_embeddings(rag_db, embedder):
    await add_products(rag_db, product_in("KR-A-001", "Костюм А"), product_in("KR-B-001", "Худі Б"))
    await reindex(rag_db, embedder)
    async with rag_db() as session, session.begin():
        await session.execute(text("DELETE FROM products WHERE sku = 'KR-A-001'"))

    report = await reindex(rag_db, embedder)

    assert report.products == 1
    assert set(await stored(rag_db)) == {2}


async def test_full_reindex_re_embeds_everything(rag_db, embedder):
    await add_products(rag_db, product_in("KR-A-001", "Костюм А"), product_in("KR-B-001", "Худі Б"))
    await reindex(rag_db, embedder)

    report = await reindex(rag_db, embedder, full=True)

    assert (report.embedded, report.rebuilt) == (2, False)


async def test_switching_embedder_rebuilds_column_and_hnsw_index(rag_db, embedder):
    await add_products(rag_db, product_in("KR-A-001", "Костюм А"), product_in("KR-B-001", "Худі Б"))
    await reindex(rag_db, embedder)
    smaller = HashingEmbedder(dim=64)

    report = await reindex(rag_db, smaller)

    assert (report.embedded, report.rebuilt) == (2, True)
    assert {name for name, _ in (await stored(rag_db)).values()} == {smaller.name}
    async with rag_db() as session:
        column_type = await session.scalar(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                "WHERE attrelid = 'product_embeddings'::regclass AND attname = 'embedding'"
            )
        )
        index_def = await session.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = :name"),
            {"name": "ix_product_embeddings_embedding_hnsw"},
        )
    assert column_type == "vector(64)"
    assert "hnsw" in index_def
    assert "vector_cosine_ops" in index_def


async def test_reindex_of_named_skus_looks_only_at_those(rag_db, embedder):
    await add_products(rag_db, product_in("KR-A-001", "Костюм А"), product_in("KR-B-001", "Худі Б"))
    await reindex(rag_db, embedder)
    async with CatalogService(rag_db) as service:
        await service.update_product("KR-A-001", ProductUpdate(description="З кишенями."))
        await service.update_product("KR-B-001", ProductUpdate(description="З капюшоном."))

    report = await reindex(rag_db, embedder, skus={"KR-B-001", "KR-GONE-1"})

    assert (report.products, report.embedded) == (1, 1)
    assert (await reindex(rag_db, embedder)).embedded == 1  # KR-A-001 was left for later


async def test_reindex_of_named_skus_after_an_embedder_switch_embeds_everything(rag_db, embedder):
    await add_products(rag_db, product_in("KR-A-001", "Костюм А"), product_in("KR-B-001", "Худі Б"))
    await reindex(rag_db, embedder)

    report = await reindex(rag_db, HashingEmbedder(dim=256), skus={"KR-A-001"})

    assert (report.rebuilt, report.embedded) == (True, 2)
