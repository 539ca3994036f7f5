"""Text retrieval at 1k, 10k and 100k synthetic products in a real Postgres with pgvector.

Rows: build time (embed + COPY + HNSW build), vector top-3 p50/p99 through the HNSW index and by
exact scan, recall@3 of HNSW against the exact scan, the whole hybrid `retrieve()` p50/p99 (the row
with the issue's goal: retrieval top-3 is what a customer waits for) and the same with a category
filter, and the prompt context size for 10 / 1,000 / 100,000 products.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import TYPE_CHECKING, cast

import asyncpg
import numpy as np
from pgvector.asyncpg import register_vector
from sqlalchemy import func, select, text

from app.catalog.schemas import Product as Card
from app.catalog.schemas import Variant
from app.rag.context import build_context
from app.rag.embedders import HashingEmbedder
from app.rag.indexer import HNSW_WITH, content_hash, embedding_text, prepare_index
from app.rag.models import HNSW_INDEX
from app.rag.search import EF_SEARCH, filters, nearest, retrieve
from benchmarks.table import Row
from tests.servers.postgres import migrated_database

if TYPE_CHECKING:
    from app.rag.indexer import Describable

SIZES = (1_000, 10_000, 100_000)
QUERIES = 200
CHUNK = 5_000
GOALS = {10_000: "<= 5 ms", 100_000: "<= 15 ms"}


def _words(text: str) -> list[str]:
    return text.split()


CATEGORIES = {
    "костюми": "Костюм",
    "худі": "Худі",
    "світшоти": "Світшот",
    "футболки": "Футболка",
    "сукні": "Сукня",
    "спідниці": "Спідниця",
    "штани": "Штани",
    "джинси": "Джинси",
    "куртки": "Куртка",
    "пальта": "Пальто",
    "кардигани": "Кардиган",
    "сорочки": "Сорочка",
    "піжами": "Піжама",
}
NAMES = _words(
    "Мрія Лагуна Ритм Хмаринка Баланс Вайб Альпи Затишок Київ Бриз Соняшник Марина Графіт Вишня "
    "Ніжність Муза Пікнік Хвиля Шотландка Сієста Рух Сафарі Офіс Мом Вайд Пілот Ковбой Зима "
    "Елегант Парі Бабусин Кашемір Фланель Сонько Шовк Карпати Дніпро Львів Одеса Полтава Весна "
    "Осінь Літо Зоря Калина Верба Ромашка Волошка Мальва Барвінок Світанок Туман Грім Веселка"
)
COLOURS = _words(
    "рожевий бежевий молочний пудровий графітовий оливковий синій чорний білий сірий бордовий "
    "жовтий блакитний гірчичний червоний смарагдовий зелений коричневий фіолетовий"
)
FABRICS = _words("бавовна льон віскоза вовна кашемір велюр плюш трикотаж денім сатин фланель футер")
FEATURES = _words(
    "блискавка капюшон кишеня-кенгуру лампаси манжети рубчик ґудзики комір пояс стрілки плісе "
    "горошок клітинка смужка принт напис вишивка оверсайз кльош міді міні максі бретелі кант "
    "шнурки зав'язки накладні-кишені стійка лацкани коси"
)
PHRASES = (
    "Дуже м'який і приємний до тіла.",
    "Ідеальний на весну та осінь.",
    "Вільний крій, не сковує рухів.",
    "Легко комбінується з базовими речами.",
    "Тримає форму після прання.",
    "Підходить для дому, прогулянок і офісу.",
    "Тепла модель для холодних вечорів.",
    "Легка тканина для спекотного літа.",
)


def synthetic(n: int, rng: random.Random) -> dict[str, object]:
    category, noun = rng.choice(list(CATEGORIES.items()))
    colours = rng.sample(COLOURS, 2)
    features = rng.sample(FEATURES, 4)
    fabric = rng.choice(FABRICS)
    return {
        "sku": f"SY-{n:06d}",
        "name": f"{noun} «{rng.choice(NAMES)} {n}»",
        "category": category,
        "description": f"{noun} з тканини {fabric}: {', '.join(features[:2])}. "
        + " ".join(rng.sample(PHRASES, 2)),
        "visual_features": f"{fabric.capitalize()}, {', '.join(features)}.",
        "recognition_tips": f"Впізнається за деталями: {features[0]} і {features[1]}.",
        "colours": colours,
        "tags": [fabric, *features[:3]],
    }


def query(rng: random.Random) -> str:
    noun = rng.choice(list(CATEGORIES.values())).lower()
    return f"{rng.choice(COLOURS)} {noun} {rng.choice(FABRICS)} {rng.choice(FEATURES)}"


def ms(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return statistics.median(samples) * 1e3, cuts[98] * 1e3


async def load(dsn: str, session_factory, embedder: HashingEmbedder, size: int):
    """Products and their embeddings by COPY, then the HNSW index built once over all rows."""
    rng = random.Random(size)
    async with session_factory() as session, session.begin():
        await session.execute(text("TRUNCATE products RESTART IDENTITY CASCADE"))
        await session.execute(text("DELETE FROM embedding_index"))
        await prepare_index(session, embedder)
        # Building the graph once after the load is far faster than inserting into it row by row.
        await session.execute(text(f"DROP INDEX {HNSW_INDEX}"))
    conn = await asyncpg.connect(dsn)
    await register_vector(conn)
    embed_s = copy_s = 0.0
    for start in range(0, size, CHUNK):
        items = [synthetic(n, rng) for n in range(start + 1, min(start + CHUNK, size) + 1)]
        started = time.perf_counter()
        texts = [embedding_text(cast("Describable", SimpleNamespace(**i))) for i in items]
        vectors = [np.asarray(embedder.embed_one(t), dtype=np.float32) for t in texts]
        embed_s += time.perf_counter() - started
        started = time.perf_counter()
        await conn.copy_records_to_table(
            "products",
            columns=[
                "sku",
                "name",
                "description",
                "category",
                "price",
                "visual_features",
                "recognition_tips",
                "tags",
                "sizes",
                "colours",
                "active",
            ],
            records=[
                (
                    i["sku"],
                    i["name"],
                    i["description"],
                    i["category"],
                    Decimal("1000.00"),
                    i["visual_features"],
                    i["recognition_tips"],
                    i["tags"],
                    ["S", "M", "L"],
                    i["colours"],
                    True,
                )
                for i in items
            ],
        )
        await conn.copy_records_to_table(
            "product_embeddings",
            columns=["product_id", "embedder", "dim", "content_hash", "embedding"],
            records=[
                (start + k + 1, embedder.name, embedder.dim, content_hash(t, embedder.name), v)
                for k, (t, v) in enumerate(zip(texts, vectors, strict=True))
            ],
        )
        copy_s += time.perf_counter() - started
    started = time.perf_counter()
    await conn.execute("SET maintenance_work_mem = '1GB'")
    await conn.execute("SET max_parallel_maintenance_workers = 1")
    await conn.execute(
        f"CREATE INDEX {HNSW_INDEX} ON product_embeddings "
        f"USING hnsw (embedding vector_cosine_ops) WITH {HNSW_WITH}"
    )
    # VACUUM, not only ANALYZE: COPY leaves the new rows in the GIN index's pending list, which
    # every full-text query reads linearly (and the planner, pricing it, avoids the index) until
    # autovacuum merges it, as it would soon after such a load in production.
    await conn.execute("VACUUM ANALYZE products")
    await conn.execute("VACUUM ANALYZE product_embeddings")
    index_s = time.perf_counter() - started
    await conn.close()
    return embed_s, copy_s, index_s


async def top3(session_factory, vector: list[float], *, exact: bool) -> list[str]:
    async with session_factory() as session, session.begin():
        if exact:
            await session.execute(select(func.set_config("enable_indexscan", "off", True)))
        else:
            await session.execute(select(func.set_config("hnsw.ef_search", str(EF_SEARCH), True)))
        conditions = filters(in_stock=None, category=None, active_only=True)
        return list(await session.scalars(nearest(vector, conditions, 3)))


async def measure(dsn: str, session_factory, embedder: HashingEmbedder, size: int) -> list[Row]:
    group = f"rag {size // 1000}k"
    embed_s, copy_s, index_s = await load(dsn, session_factory, embedder, size)
    rows = [
        Row(group, "build: embed (hashing)", embed_s, "s", note=f"{size / embed_s:,.0f}/s"),
        Row(group, "build: COPY products + vectors", copy_s, "s"),
        Row(group, "build: HNSW index", index_s, "s", note="m=16, ef_construction=64"),
    ]
    rng = random.Random(7)
    queries = [query(rng) for _ in range(QUERIES)]
    vectors = await embedder.embed(queries)
    for vector in vectors[:5]:  # warm the caches
        await top3(session_factory, vector, exact=False)
        await top3(session_factory, vector, exact=True)
    results: dict[bool, list[list[str]]] = {}
    for exact in (False, True):
        samples, found = [], []
        for vector in vectors:
            started = time.perf_counter()
            found.append(await top3(session_factory, vector, exact=exact))
            samples.append(time.perf_counter() - started)
        results[exact] = found
        p50, p99 = ms(samples)
        how = "exact scan" if exact else f"HNSW (ef_search {EF_SEARCH})"
        rows += [
            Row(group, f"vector top-3, {how}, p50", p50, "ms"),
            Row(group, f"vector top-3, {how}, p99", p99, "ms"),
        ]
    recall = statistics.fmean(
        len(set(a) & set(b)) / 3 for a, b in zip(results[False], results[True], strict=True)
    )
    rows.append(Row(group, "recall@3 HNSW vs exact", recall, "", ">= 0.95", f"{QUERIES} queries"))
    hybrid = (
        ("", None, "SKU+name+FTS+HNSW"),
        (", one category", "худі", "1 of 13 categories: exact scan when HNSW falls short"),
    )
    for label, category, note in hybrid:
        for q in queries[:5]:  # warm the caches
            await retrieve(session_factory, embedder, q, k=3, category=category)
        samples = []
        for q in queries:
            started = time.perf_counter()
            await retrieve(session_factory, embedder, q, k=3, category=category)
            samples.append(time.perf_counter() - started)
        p50, p99 = ms(samples)
        goal = "" if category else GOALS.get(size, "")
        name = f"retrieve() hybrid top-3{label}"
        rows += [
            Row(group, f"{name}, p50", p50, "ms", goal, note),
            Row(group, f"{name}, p99", p99, "ms"),
        ]
    return rows


def context_rows() -> list[Row]:
    rng = random.Random(3)
    rows = []
    for count in (10, 1_000, 100_000):
        cards = []
        for n in range(count):
            item = synthetic(n, rng)
            cards.append(
                Card(
                    sku=str(item["sku"]),
                    name=str(item["name"]),
                    category=str(item["category"]),
                    price=Decimal("1299.00"),
                    in_stock=True,
                    active=True,
                    description=str(item["description"]),
                    sizes=["S", "M", "L"],
                    colours=list(item["colours"]),  # type: ignore[call-overload]
                    variants=[Variant(size="M", colour="чорний", available=2)],
                    visual_features=str(item["visual_features"]),
                    recognition_tips=str(item["recognition_tips"]),
                    tags=[],
                    photos=[],
                    updated_at=datetime(2026, 11, 24, tzinfo=UTC),
                )
            )
        started = time.perf_counter()
        size = len(build_context(cards))
        took = (time.perf_counter() - started) * 1e3
        rows.append(
            Row(
                "rag context",
                f"context chars, {count:,} products",
                size,
                "chars",
                "<= 2,000",
                f"built in {took:.1f} ms",
            )
        )
    return rows


async def main(sizes: tuple[int, ...] = SIZES) -> list[Row]:
    async with migrated_database() as (engine, session_factory):
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        embedder = HashingEmbedder()
        rows: list[Row] = []
        for size in sizes:
            rows += await measure(dsn, session_factory, embedder, size)
    return rows + context_rows()


def run() -> list[Row]:
    return asyncio.run(main())


if __name__ == "__main__":
    import sys

    from benchmarks.table import render

    chosen = tuple(int(a) for a in sys.argv[1:]) or SIZES
    print(render(asyncio.run(main(chosen))))
