"""Hybrid retrieval: exact SKU, then exact name, then full-text and vector ranks fused (RRF).

Why this order: a customer who types "KR-KS-001" or "Костюм Мрія" means exactly that product,
whatever the vectors say; for everything else, reciprocal rank fusion of the full-text rank
(SKUs and names as written) and the vector rank (descriptions, looks, typos) is robust
without tuning score scales against each other. `Hit.source` says which rule placed a hit.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any

from sqlalchemy import exists, func, literal_column, select, union
from sqlalchemy.dialects.postgresql import TSVECTOR

from app.catalog.models import Product, Variant
from app.rag.models import EmbeddingIndex, ProductEmbedding

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.rag.embedders import Embedder

logger = logging.getLogger(__name__)

# 100 (pgvector's default is 40): recall@3 of HNSW against an exact scan 0.985-0.998 at 100k
# synthetic products in benchmarks/bench_rag.py, p50 6 ms; SET LOCAL per query, not per session.
EF_SEARCH = 100
CANDIDATES = 20
# Rows of one full-text word or all-words match that are ranked at most (see _full_text).
FTS_CAP = 200
RRF_K = 60
SKU_TOKEN = re.compile(r"[0-9A-Za-z]+(?:-[0-9A-Za-z]+)+")
# Punctuation that never belongs to the words of a name: read as spaces when comparing names.
_PUNCTUATION = "«»\"'“”„’ʼ,.!?:;()-"
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Hit:
    sku: str
    score: float
    source: str
    """"sku" | "name" (exact matches), or which ranks found it: "fts+vector", "fts", "vector"."""


def _normalized(text: str) -> str:
    spaced = text.translate(str.maketrans(_PUNCTUATION, " " * len(_PUNCTUATION)))
    return _SPACES.sub(" ", spaced.casefold()).strip()


def document() -> ColumnElement[str]:
    """products.search_document: the generated tsvector (SKU + name) of migration 0002. Not in
    the ORM model, which the catalog owns; the database keeps it current on every write."""
    return literal_column("products.search_document", TSVECTOR)


def nearest(vector: list[float], conditions: list[ColumnElement[bool]], limit: int) -> Select[str]:
    """SKUs by cosine distance to `vector` (the HNSW index, unless the planner is told not to)."""
    distance = ProductEmbedding.embedding.cosine_distance(vector)
    return (
        select(Product.sku)
        .select_from(ProductEmbedding)
        .join(Product, Product.id == ProductEmbedding.product_id)
        .where(*conditions)
        .order_by(distance)
        .limit(limit)
    )


def filters(
    *, in_stock: bool | None, category: str | None, active_only: bool
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if active_only:
        conditions.append(Product.active.is_(True))
    if category:
        conditions.append(func.lower(Product.category) == category.lower())
    if in_stock is not None:
        stocked = exists().where(Variant.product_id == Product.id, Variant.stock > 0)
        conditions.append(stocked if in_stock else ~stocked)
    return conditions


async def _skus(
    session: AsyncSession, query: str, conditions: list[ColumnElement[bool]]
) -> list[Hit]:
    skus = [token.upper() for token in SKU_TOKEN.findall(query)]
    hits: list[Hit] = []
    if skus:
        found = await session.scalars(
            select(Product.sku).where(Product.sku.in_(skus), *conditions).order_by(Product.sku)
        )
        hits += [Hit(sku, 3.0, "sku") for sku in found]
    return hits


async def retrieve(
    session_factory: async_sessionmaker[AsyncSession],
    embedder: Embedder,
    query: str,
    *,
    k: int = 3,
    in_stock: bool | None = None,
    category: str | None = None,
    active_only: bool = True,
    ef_search: int = EF_SEARCH,
) -> list[Hit]:
    """The `k` products that best answer `query`, best first, within the filters."""
    query = query.strip()
    if not query or k <= 0:
        return []
    [vector] = await embedder.embed([query])
    conditions = filters(in_stock=in_stock, category=category, active_only=active_only)
    async with session_factory() as session, session.begin():
        hits = await _skus(session, query, conditions)
        if len(hits) >= k:
            return hits[:k]
        fts_rows = await _full_text(session, query, conditions)
        fts = [(sku, score) for sku, _, score in fts_rows]
        hits += _names_in(query, [(sku, name) for sku, name, _ in fts_rows], hits)
        vec: list[str] = []
        index = await session.get(EmbeddingIndex, 1)
        if index is not None and index.embedder == embedder.name and index.dim == embedder.dim:
            vec = await _vector(session, vector, conditions, ef_search)
        else:
            logger.warning(
                "vector index was built by %s, not %s: full-text search only; run `kramar reindex`",
                None if index is None else index.embedder,
                embedder.name,
            )
    return fuse(hits, fts, vec, k)


async def _lexemes(session: AsyncSession, query: str) -> list[tuple[str, int]]:
    """The query's words as the 'simple' parser splits them, each with how many products' SKU or
    name contain it, counted up to FTS_CAP + 1 only: one GIN lookup and at most that many rows."""
    words = (
        func.unnest(func.tsvector_to_array(func.to_tsvector("simple", query)))
        .table_valued("lexeme")
        .render_derived(name="word")
    )
    named = (
        select(literal_column("1"))
        .select_from(Product)
        .where(document().bool_op("@@")(func.plainto_tsquery("simple", words.c.lexeme)))
        .limit(FTS_CAP + 1)
        .correlate(words)
        .subquery()
    )
    rows = await session.execute(
        select(words.c.lexeme, select(func.count()).select_from(named).scalar_subquery())
    )
    return [(lexeme, int(count)) for lexeme, count in rows]


async def _full_text(
    session: AsyncSession, query: str, conditions: list[ColumnElement[bool]]
) -> list[tuple[str, str, float]]:
    """Up to CANDIDATES (sku, name, rank), best first: products whose SKU or name has any of the
    query's words, ranked by ts_rank_cd of that "any word" query, so more words rank higher.

    Why not simply rank every match: a word like "костюм" is in tens of thousands of names at
    100k products, and ts_rank_cd over all of them was ~80 ms. So only these rows are ranked:
    - the names with *all* the words that occur in the catalog (at most FTS_CAP of them: when more
      match, they are near-equal for full text anyway and the vector rank decides), and
    - the names with any *rare* word (one in at most FTS_CAP names), so each adds <= FTS_CAP rows.
    A word in more than FTS_CAP names is skipped as a lone match: among thousands of equal
    matches, twenty picked by SKU order would only add noise to the fusion.
    Words found in no SKU or name are dropped first, so "рожевий костюм мрія" still finds the
    "Костюм Мрія" names although no name says "рожевий".
    """
    lexemes = await _lexemes(session, query)
    found = [lexeme for lexeme, count in lexemes if count > 0]
    if not found:
        return []
    rare = [lexeme for lexeme, count in lexemes if 0 < count <= FTS_CAP]
    matches = document().bool_op("@@")
    every = select(Product.id).where(matches(_tsquery(found, "&&")), *conditions).limit(FTS_CAP)
    ids = (
        union(every, select(Product.id).where(matches(_tsquery(rare, "||")), *conditions))
        if rare and len(found) > 1
        else every
    ).subquery()
    rank = func.ts_rank_cd(document(), _tsquery(found, "||"))
    rows = await session.execute(
        select(Product.sku, Product.name, rank)
        .join(ids, ids.c.id == Product.id)
        .order_by(rank.desc(), Product.sku)
        .limit(CANDIDATES)
    )
    return [(sku, name, float(score)) for sku, name, score in rows]


def _tsquery(lexemes: list[str], operator: str) -> ColumnElement[Any]:
    """The lexemes joined by tsquery's && (all) or || (any); plainto_tsquery quotes each safely."""
    parts = [func.plainto_tsquery("simple", lexeme) for lexeme in lexemes]
    return reduce(lambda left, right: left.op(operator)(right), parts)


async def _vector(
    session: AsyncSession,
    vector: list[float],
    conditions: list[ColumnElement[bool]],
    ef_search: int,
) -> list[str]:
    """CANDIDATES SKUs nearest to `vector` within the filters: HNSW, or an exact scan when the
    filters leave HNSW short."""
    # set_config(..., true) is SET LOCAL: this transaction only.
    await session.execute(select(func.set_config("hnsw.ef_search", str(int(ef_search)), True)))
    found = list(await session.scalars(nearest(vector, conditions, CANDIDATES)))
    if len(found) >= CANDIDATES or not conditions:
        return found
    # pgvector 0.6 filters the ef_search rows the HNSW scan returns, after the scan: a selective
    # filter (a small category, in stock when most is sold out) leaves fewer rows although more
    # products match. Then the filter itself is selective, so the distance of every product it
    # keeps is cheap to compute: exactly, in a MATERIALIZED CTE with no ORDER BY of its own, which
    # the planner can neither answer from the HNSW index nor fold into the outer ORDER BY (unlike
    # enable_indexscan = off, it keeps the btree indexes for the join and the filters).
    distance = ProductEmbedding.embedding.cosine_distance(vector).label("distance")
    scored = (
        select(Product.sku, distance)
        .select_from(ProductEmbedding)
        .join(Product, Product.id == ProductEmbedding.product_id)
        .where(*conditions)
        .cte("scored")
        .prefix_with("MATERIALIZED")
    )
    exact = select(scored.c.sku).order_by(scored.c.distance, scored.c.sku).limit(CANDIDATES)
    return list(await session.scalars(exact))


def _dense_ranks(scored: list[tuple[str, float]]) -> list[tuple[int, str]]:
    """Equal full-text scores share a rank: "костюм" matches six suits equally well, and the
    vector rank, not the SKU order, should decide between them."""
    ranks: list[tuple[int, str]] = []
    rank, previous = 0, None
    for sku, score in scored:
        if score != previous:
            rank, previous = rank + 1, score
        ranks.append((rank, sku))
    return ranks


def _names_in(query: str, candidates: list[tuple[str, str]], taken: list[Hit]) -> list[Hit]:
    """Products whose whole name is in the request ("є костюм мрія лайт у M?"), longest first.

    Checked over the full-text candidates only: a name in the request matches all its words, so
    it ranks among them, and no query scans every name.
    """
    padded = f" {_normalized(query)} "
    skus = {h.sku for h in taken}
    found = [
        (len(name), sku)
        for sku, name in candidates
        if sku not in skus and f" {_normalized(name)} " in padded
    ]
    return [Hit(sku, 2.0, "name") for _, sku in sorted(found, key=lambda f: (-f[0], f[1]))]


def fuse(exact: list[Hit], fts: list[tuple[str, float]], vec: list[str], k: int) -> list[Hit]:
    """Exact hits first, then reciprocal rank fusion: score = Σ 1 / (RRF_K + rank)."""
    scores: dict[str, float] = {}
    sources: dict[str, list[str]] = {}
    vec_ranks = list(enumerate(vec, start=1))
    for name, ranked in (("fts", _dense_ranks(fts)), ("vector", vec_ranks)):
        for rank, sku in ranked:
            scores[sku] = scores.get(sku, 0.0) + 1.0 / (RRF_K + rank)
            sources.setdefault(sku, []).append(name)
    taken = {h.sku for h in exact}
    fused = sorted((s for s in scores if s not in taken), key=lambda s: (-scores[s], s))
    return [*exact, *(Hit(s, scores[s], "+".join(sources[s])) for s in fused)][:k]
