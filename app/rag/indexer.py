"""Incremental indexer: embed only the products whose embedding text changed.

Staleness needs no bookkeeping in catalog writes: the stored `content_hash` is sha256 of the
embedding text plus the embedder name, so any edit that changes the text makes it mismatch.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert

from app.catalog.models import Product
from app.rag.models import HNSW_INDEX, EmbeddingIndex, ProductEmbedding

if TYPE_CHECKING:
    from collections.abc import Collection

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.rag.embedders import Embedder

# Any fixed number apart from the other advisory locks (migrations 5_172_937, imports
# 5_172_938); one indexer at a time across replicas and the operator.
REINDEX_LOCK_ID = 5_172_939
BATCH_SIZE = 256
# pgvector's HNSW defaults, written out: recall@3 0.985-0.998 at 100k (benchmarks/bench_rag.py).
HNSW_WITH = "(m = 16, ef_construction = 64)"


@dataclass(frozen=True)
class IndexReport:
    embedder: str
    dim: int
    products: int
    embedded: int
    unchanged: int
    rebuilt: bool
    seconds: float

    def summary(self) -> str:
        how = "rebuilt" if self.rebuilt else "incremental"
        return (
            f"{self.embedder} ({self.dim}-d, {how}): {self.embedded} embedded, "
            f"{self.unchanged} unchanged of {self.products} products in {self.seconds:.2f} s"
        )


class Describable(Protocol):
    """The product fields the embedding text is made of (a `Product` or a selected row)."""

    @property
    def name(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def visual_features(self) -> str: ...
    @property
    def recognition_tips(self) -> str: ...
    @property
    def colours(self) -> list[str]: ...
    @property
    def tags(self) -> list[str]: ...


TEXT_COLUMNS = (
    Product.id,
    Product.name,
    Product.category,
    Product.description,
    Product.visual_features,
    Product.recognition_tips,
    Product.colours,
    Product.tags,
)


def embedding_text(product: Describable) -> str:
    """What a product is found by: name, category, description, looks, colours, tags."""
    parts = [
        # The name is what customers quote (often misspelled): three times, so it outweighs the
        # long description in the hashed vector.
        product.name,
        product.name,
        product.name,
        product.category,
        product.description,
        product.visual_features,
        product.recognition_tips,
        "кольори: " + ", ".join(product.colours) if product.colours else "",
        "теги: " + ", ".join(product.tags) if product.tags else "",
    ]
    return "\n".join(p for p in parts if p)


def content_hash(text_: str, embedder_name: str) -> str:
    return hashlib.sha256(f"{embedder_name}\n{text_}".encode()).hexdigest()


async def prepare_index(session: AsyncSession, embedder: Embedder) -> bool:
    """Make the column and HNSW index fit `embedder`; True when they had to be rebuilt.

    Runs inside the caller's transaction (DDL is transactional in Postgres), so a failed switch
    leaves the old index intact.
    """
    current = await session.get(EmbeddingIndex, 1, with_for_update=True)
    if current is not None and current.embedder == embedder.name and current.dim == embedder.dim:
        return False
    dim = int(embedder.dim)
    if not 0 < dim <= 2000:  # HNSW indexes at most 2,000 dimensions in pgvector 0.6
        raise ValueError(f"embedding dimension {dim} is outside 1..2000")
    await session.execute(delete(ProductEmbedding))
    # DDL takes no bind parameters; `dim` is a checked int and the names are constants.
    await session.execute(text(f"DROP INDEX IF EXISTS {HNSW_INDEX}"))
    await session.execute(
        text(f"ALTER TABLE product_embeddings ALTER COLUMN embedding TYPE vector({dim})")
    )
    await session.execute(
        text(
            f"CREATE INDEX {HNSW_INDEX} ON product_embeddings "
            f"USING hnsw (embedding vector_cosine_ops) WITH {HNSW_WITH}"
        )
    )
    if current is None:
        session.add(EmbeddingIndex(id=1, embedder=embedder.name, dim=dim))
    else:
        current.embedder, current.dim = embedder.name, dim
    await session.flush()
    return True


async def reindex(
    session_factory: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    *,
    full: bool = False,
    batch_size: int = BATCH_SIZE,
    skus: Collection[str] | None = None,
) -> IndexReport:
    """Embed new and changed products (all of them with `full`, or after an embedder switch).

    With `skus`, only those products are compared and embedded (the ones a catalog change
    named); the report then counts only them. Rows of deleted products go with them (ON DELETE
    CASCADE). One transaction: searches keep seeing the previous vectors until it commits.
    """
    started = time.perf_counter()
    async with session_factory() as session, session.begin():
        await session.execute(select(func.pg_advisory_xact_lock(REINDEX_LOCK_ID)))
        rebuilt = await prepare_index(session, embedder)
        if rebuilt:
            skus = None  # the rebuild emptied the index: every product needs its vector again
        if full and not rebuilt and skus is None:
            await session.execute(delete(ProductEmbedding))
        # Columns only: loading whole products would also load every variant and photo.
        query = select(*TEXT_COLUMNS).order_by(Product.id)
        if skus is not None:
            query = query.where(Product.sku.in_(sorted(skus)))
        products = (await session.execute(query)).all()
        hashes = select(ProductEmbedding.product_id, ProductEmbedding.content_hash)
        if skus is not None:
            hashes = hashes.where(ProductEmbedding.product_id.in_([p.id for p in products]))
        stored = {pid: digest for pid, digest in await session.execute(hashes)}
        stale: list[tuple[int, str, str]] = []
        for product in products:
            body = embedding_text(product)
            digest = content_hash(body, embedder.name)
            if full or stored.get(product.id) != digest:
                stale.append((product.id, body, digest))
        for start in range(0, len(stale), batch_size):
            batch = stale[start : start + batch_size]
            vectors = await embedder.embed([body for _, body, _ in batch])
            rows = [
                {
                    "product_id": product_id,
                    "embedder": embedder.name,
                    "dim": embedder.dim,
                    "content_hash": digest,
                    "embedding": vector,
                }
                for (product_id, _, digest), vector in zip(batch, vectors, strict=True)
            ]
            statement = insert(ProductEmbedding).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ProductEmbedding.product_id],
                    set_={
                        "embedder": statement.excluded.embedder,
                        "dim": statement.excluded.dim,
                        "content_hash": statement.excluded.content_hash,
                        "embedding": statement.excluded.embedding,
                        "updated_at": func.now(),
                    },
                )
            )
    return IndexReport(
        embedder=embedder.name,
        dim=embedder.dim,
        products=len(products),
        embedded=len(stale),
        unchanged=len(products) - len(stale),
        rebuilt=rebuilt,
        seconds=time.perf_counter() - started,
    )
