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
from functools import cache
from typing import TYPE_CHECKING, Any

from pgvector.sqlalchemy import Vector
from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    select,
    union,
)
from sqlalchemy.dialects.postgresql import REGCONFIG, TSQUERY, TSVECTOR, aggregate_order_by

from app.catalog import stock
from app.catalog.models import Product
from app.rag import glossary
from app.rag.models import EmbeddingIndex, ProductEmbedding

if TYPE_CHECKING:
    from sqlalchemy import CTE, BindParameter, ColumnElement, Exists, Select
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
_SIMPLE = literal_column("'simple'::regconfig", REGCONFIG)


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


def nearest(
    vector: list[float] | BindParameter[Any], conditions: list[ColumnElement[bool]], limit: int
) -> Select[str]:
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
        # Compared as lower(category), the expression ix_products_category_lower indexes.
        lowered = bindparam("category", category.lower(), type_=String)
        conditions.append(func.lower(Product.category) == lowered)
    if in_stock is not None:
        conditions.append(stock.in_stock() if in_stock else ~stock.in_stock())
    return conditions


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
    # English and Russian clothing words also searched as the catalog's Ukrainian ones.
    expanded = glossary.expand(query)
    [vector] = await embedder.embed([expanded])
    statement = _statement(in_stock=in_stock, by_category=bool(category), active_only=active_only)
    values = {
        "query": expanded,
        "skus": [token.upper() for token in SKU_TOKEN.findall(query)],
        "category": (category or "").lower(),
        "fts_cap": FTS_CAP,
        "query_vector": vector,
        "embedder": embedder.name,
        "dim": embedder.dim,
        "ef_search": str(int(ef_search)),
    }
    async with session_factory() as session:
        # One read-only statement: autocommit spares the BEGIN and COMMIT round trips, and
        # set_config(..., true) then lasts for this statement (its implicit transaction) only.
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        row = (await connection.execute(statement, values)).one()
    if not row.vector_ok:
        logger.warning(
            "vector index was built by %s, not %s: full-text search only; run `kramar reindex`",
            row.indexed_by,
            embedder.name,
        )
    hits = [Hit(sku, 3.0, "sku") for sku in row.skus or []]
    fts_rows = list(zip(row.fts_skus or [], row.fts_names or [], row.fts_ranks or [], strict=True))
    hits += _names_in(query, [(sku, name) for sku, name, _ in fts_rows], hits)
    fts = [(sku, float(score)) for sku, _, score in fts_rows]
    return fuse(hits, fts, list(row.vector or []), k)


@cache
def _statement(*, in_stock: bool | None, by_category: bool, active_only: bool) -> Select[Any]:
    """One row: the exact SKU hits, the full-text candidates (skus, names, ranks), the vector
    candidates, and whether (and by what) the vector index was built for this embedder.

    One statement, so one round trip, and no second read of embedding_index that a reindex
    could change in between. Built once per shape of filters (at most twelve), with every value
    a parameter: building and hashing a statement this size took longer than running it.
    """
    # "?" only shapes the statement: retrieve() passes the category as the parameter "category".
    conditions = filters(
        in_stock=in_stock, category="?" if by_category else None, active_only=active_only
    )
    skus = bindparam("skus", type_=ARRAY(String))
    exact = (
        select(func.array_agg(aggregate_order_by(Product.sku, Product.sku)))
        .where(Product.sku == any_(skus), *conditions)
        .scalar_subquery()
    )
    fts = _full_text(conditions)
    fts_order = (fts.c.rank.desc(), fts.c.sku)

    def fts_array(column: ColumnElement[Any]) -> ColumnElement[Any]:
        return select(func.array_agg(aggregate_order_by(column, *fts_order))).scalar_subquery()

    indexed_by = select(EmbeddingIndex.embedder).where(EmbeddingIndex.id == 1).scalar_subquery()
    built_by_this = exists().where(
        EmbeddingIndex.id == 1,
        EmbeddingIndex.embedder == bindparam("embedder", type_=String),
        EmbeddingIndex.dim == bindparam("dim", type_=Integer),
    )
    return select(
        exact.label("skus"),
        fts_array(fts.c.sku).label("fts_skus"),
        fts_array(fts.c.name).label("fts_names"),
        fts_array(fts.c.rank).label("fts_ranks"),
        _vector(built_by_this, conditions).label("vector"),
        indexed_by.label("indexed_by"),
        built_by_this.label("vector_ok"),
    )


def _full_text(conditions: list[ColumnElement[bool]]) -> CTE:
    """Up to CANDIDATES (sku, name, rank): products whose SKU or name has any of the query's
    words, ranked by ts_rank_cd of that "any word" query, so more words rank higher.

    Why not simply rank every match: a word like "костюм" is in tens of thousands of names at
    100k products, and ts_rank_cd over all of them was ~80 ms. So only these rows are ranked:
    - the names with *all* the words that occur in the catalog (at most FTS_CAP of them: when more
      match, they are near-equal for full text anyway and the vector rank decides), and
    - the names with any *rare* word (one in at most FTS_CAP names), so each adds <= FTS_CAP rows.
    A word in more than FTS_CAP names is skipped as a lone match: among thousands of equal
    matches, twenty picked by SKU order would only add noise to the fusion.
    Words found in no SKU or name are dropped first, so "рожевий костюм мрія" still finds the
    "Костюм Мрія" names although no name says "рожевий".
    With one word, "all" and "rare" select the same rows; with no word found, nothing.
    """
    cap = bindparam("fts_cap", type_=Integer)
    words = _lexemes(cap)
    found = words.c.count > 0
    rare = and_(found, words.c.count <= cap)
    matches = document().bool_op("@@")
    every = select(Product.id).where(matches(_tsquery(words, found, "&")), *conditions).limit(cap)
    any_rare = select(Product.id).where(matches(_tsquery(words, rare, "|")), *conditions)
    ids = union(every, any_rare).subquery()
    rank = func.ts_rank_cd(document(), _tsquery(words, found, "|"))
    return (
        select(Product.sku, Product.name, rank.label("rank"))
        .join(ids, ids.c.id == Product.id)
        .order_by(rank.desc(), Product.sku)
        .limit(CANDIDATES)
        .cte("fts")
    )


def _lexemes(cap: BindParameter[int]) -> CTE:
    """The query's words as the 'simple' parser splits them, in its order, each with how many
    products' SKU or name contain it, counted up to `cap` + 1 only: one GIN lookup and at most
    that many rows per word."""
    query = bindparam("query", type_=String)
    words = (
        func.unnest(func.tsvector_to_array(func.to_tsvector(_SIMPLE, query)))
        .table_valued("lexeme", with_ordinality="position")
        .render_derived(name="word")
    )
    named = (
        select(literal_column("1"))
        .select_from(Product)
        .where(document().bool_op("@@")(func.plainto_tsquery(_SIMPLE, words.c.lexeme)))
        .limit(cap + 1)
        .correlate(words)
        .subquery()
    )
    count = select(func.count()).select_from(named).scalar_subquery()
    return select(words.c.lexeme, words.c.position, count.label("count")).cte("words")


def _tsquery(words: CTE, which: ColumnElement[bool], operator: str) -> ColumnElement[Any]:
    """The chosen words joined by tsquery's & (all) or | (any); NULL when none is chosen.

    plainto_tsquery quotes each word safely; its text form reads back as the same tsquery, so
    joining the texts equals joining the queries with && or || (Postgres has no aggregate for
    those), in one scalar subquery instead of one round trip per word count.
    """
    quoted = cast(func.plainto_tsquery(_SIMPLE, words.c.lexeme), Text)
    part = literal_column("'('", Text) + quoted + literal_column("')'", Text)
    separator = literal_column(f"' {operator} '", Text)
    joined = func.string_agg(part, aggregate_order_by(separator, words.c.position))
    return cast(select(joined).where(which).scalar_subquery(), TSQUERY)


def _vector(built_by_this: Exists, conditions: list[ColumnElement[bool]]) -> ColumnElement[Any]:
    """CANDIDATES SKUs nearest to the query vector within the filters, nearest first: HNSW, or
    an exact scan when the filters leave HNSW short. NULL unless `built_by_this` holds: another
    embedder's vectors are of another space, or of a dimension that cannot even be compared."""
    # set_config(..., true) is SET LOCAL. Here it is a one-time filter of the scan: Postgres
    # evaluates it before the scan's first row, and pgvector reads ef_search at that first row.
    ef = func.set_config("hnsw.ef_search", bindparam("ef_search", type_=String), True)
    ef_set = select(ef).scalar_subquery().is_not(None)
    # One parameter however often the statement names it: the vector's text is parsed once.
    query_vector = bindparam("query_vector", type_=Vector())
    distance = ProductEmbedding.embedding.cosine_distance(query_vector)
    hnsw = nearest(query_vector, [*conditions, built_by_this, ef_set], CANDIDATES)
    ranked = hnsw.add_columns(distance.label("distance")).subquery("hnsw")
    hnsw_skus = select(
        func.array_agg(aggregate_order_by(ranked.c.sku, ranked.c.distance, ranked.c.sku))
    )
    if not conditions:
        return hnsw_skus.scalar_subquery()
    # pgvector 0.6 filters the ef_search rows the HNSW scan returns, after the scan: a selective
    # filter (a small category, in stock when most is sold out) leaves fewer rows although more
    # products match. Then the filter itself is selective, so the distance of every product it
    # keeps is cheap to compute: exactly, in a MATERIALIZED CTE with no ORDER BY of its own, which
    # the planner can neither answer from the HNSW index nor fold into the outer ORDER BY (unlike
    # enable_indexscan = off, it keeps the btree indexes for the join and the filters). CASE runs
    # that scan only when HNSW came back short: a sub-select runs when first needed.
    scored = (
        select(Product.sku, distance.label("distance"))
        .select_from(ProductEmbedding)
        .join(Product, Product.id == ProductEmbedding.product_id)
        .where(*conditions, built_by_this)
        .cte("scored")
        .prefix_with("MATERIALIZED")
    )
    nearest_exact = (
        select(scored.c.sku, scored.c.distance)
        .order_by(scored.c.distance, scored.c.sku)
        .limit(CANDIDATES)
        .subquery("exact")
    )
    exact = select(
        func.array_agg(
            aggregate_order_by(nearest_exact.c.sku, nearest_exact.c.distance, nearest_exact.c.sku)
        )
    ).scalar_subquery()
    found = hnsw_skus.cte("hnsw_found").c[0]
    short = func.coalesce(func.cardinality(found), 0) < CANDIDATES
    return select(case((short, exact), else_=found)).scalar_subquery()


def _tied_ranks(scored: list[tuple[str, float]]) -> list[tuple[float, str]]:
    """Equal full-text scores share a rank, the mean of the places they take: "костюм" matches
    six suits equally well, so the vector rank, not the SKU order, decides between them, and
    a word that fits six names is weaker evidence for each than a word that fits one."""
    ranks: list[tuple[float, str]] = []
    start = 0
    while start < len(scored):
        end = start
        while end + 1 < len(scored) and scored[end + 1][1] == scored[start][1]:
            end += 1
        shared = (start + end) / 2 + 1
        ranks += [(shared, sku) for sku, _ in scored[start : end + 1]]
        start = end + 1
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
    vec_ranks: list[tuple[float, str]] = [(float(r), s) for r, s in enumerate(vec, start=1)]
    for name, ranked in (("fts", _tied_ranks(fts)), ("vector", vec_ranks)):
        for rank, sku in ranked:
            scores[sku] = scores.get(sku, 0.0) + 1.0 / (RRF_K + rank)
            sources.setdefault(sku, []).append(name)
    taken = {h.sku for h in exact}
    fused = sorted((s for s in scores if s not in taken), key=lambda s: (-scores[s], s))
    return [*exact, *(Hit(s, scores[s], "+".join(sources[s])) for s in fused)][:k]
