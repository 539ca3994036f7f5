from __future__ import annotations

from app.catalog.service import CatalogService
from app.orders.service import OrderService
from app.rag import search
from app.rag.embedders import HashingEmbedder
from app.rag.indexer import reindex
from app.rag.search import Hit, fuse, retrieve
from tests.rag.conftest import add_products, product_in


async def indexed(rag_db, embedder, *products):
    await add_products(rag_db, *products)
    await reindex(rag_db, embedder)
    return rag_db


async def test_exact_sku_ranks_first_even_among_similar_products(demo_catalog, embedder):
    await reindex(demo_catalog, embedder)

    hits = await retrieve(demo_catalog, embedder, "а kr-ks-002 є у розмірі M?")

    assert hits[0] == Hit("KR-KS-002", 3.0, "sku")


async def test_exact_name_ranks_first_and_the_longest_name_wins(demo_catalog, embedder):
    await reindex(demo_catalog, embedder)

    plain = await retrieve(demo_catalog, embedder, "костюм мрія")
    lite = await retrieve(demo_catalog, embedder, "Костюм «Мрія лайт», є M?")

    assert (plain[0].sku, plain[0].source) == ("KR-KS-001", "name")
    assert [h.sku for h in lite[:2]] == ["KR-KS-002", "KR-KS-001"]


async def test_description_of_a_look_finds_the_product(demo_catalog, embedder):
    await reindex(demo_catalog, embedder)

    hits = await retrieve(demo_catalog, embedder, "рожевий костюм з блискавкою", k=3)

    assert "KR-KS-001" in [h.sku for h in hits]
    assert all(h.source in {"fts", "vector", "fts+vector"} for h in hits)


async def test_in_stock_filter(rag_db, embedder):
    await indexed(
        rag_db,
        embedder,
        product_in("KR-A-001", "Костюм Лагуна", stock=[]),
        product_in("KR-A-002", "Костюм Лагуна два"),
    )

    stocked = await retrieve(rag_db, embedder, "лагуна", in_stock=True)
    sold_out = await retrieve(rag_db, embedder, "лагуна", in_stock=False)

    assert [h.sku for h in stocked] == ["KR-A-002"]
    assert [h.sku for h in sold_out] == ["KR-A-001"]


async def test_in_stock_filter_counts_reservations(rag_db, embedder):
    await indexed(rag_db, embedder, product_in("KR-A-003", "Костюм Лагуна три"))
    await OrderService(rag_db).start_order(1, "KR-A-003", "M", "чорний", qty=2)

    stocked = await retrieve(rag_db, embedder, "лагуна", in_stock=True)
    sold_out = await retrieve(rag_db, embedder, "лагуна", in_stock=False)

    assert (stocked, [h.sku for h in sold_out]) == ([], ["KR-A-003"])


async def test_category_filter(rag_db, embedder):
    await indexed(
        rag_db,
        embedder,
        product_in("KR-A-001", "Костюм Чорний"),
        product_in("KR-B-001", "Худі Чорне", category="худі"),
    )

    hits = await retrieve(rag_db, embedder, "чорний", category="Худі")

    assert [h.sku for h in hits] == ["KR-B-001"]


async def test_inactive_products_are_excluded_unless_asked(rag_db, embedder):
    await indexed(
        rag_db,
        embedder,
        product_in("KR-A-001", "Костюм Баланс"),
        product_in("KR-A-002", "Костюм Баланс старий", active=False),
    )

    default = await retrieve(rag_db, embedder, "kr-a-002 баланс старий")
    everything = await retrieve(rag_db, embedder, "kr-a-002 баланс старий", active_only=False)

    assert "KR-A-002" not in [h.sku for h in default]
    assert everything[0].sku == "KR-A-002"


async def test_a_deactivated_product_disappears_without_reindex(rag_db, embedder):
    await indexed(rag_db, embedder, product_in("KR-A-001", "Сукня Вишня"))
    async with CatalogService(rag_db) as service:
        await service.deactivate("KR-A-001")

    assert await retrieve(rag_db, embedder, "сукня вишня") == []


async def test_another_embedders_index_falls_back_to_full_text(rag_db, embedder):
    await indexed(rag_db, embedder, product_in("KR-A-001", "Сукня Вишня"))

    hits = await retrieve(rag_db, HashingEmbedder(dim=64), "вишня")

    assert [(h.sku, h.source) for h in hits] == [("KR-A-001", "fts")]


def test_fusion_puts_exact_hits_first_and_lets_vectors_break_full_text_ties():
    exact = [Hit("S", 3.0, "sku")]
    fts = [("A", 0.1), ("B", 0.1), ("C", 0.1)]
    vec = ["C", "S", "B"]

    hits = fuse(exact, fts, vec, k=3)

    assert [h.sku for h in hits] == ["S", "C", "B"]
    assert hits[1].source == "fts+vector"


def test_a_full_text_tie_is_weaker_evidence_than_a_sole_match():
    """A word in four names says less about each than a word in one name: the card threshold
    (KRAMAR_DIALOG_TEXT_CARD_MIN_SCORE) must not take a tie broken by vectors for certainty."""
    sole = fuse([], [("A", 0.1)], ["A"], k=1)
    tied = fuse([], [("A", 0.1), ("B", 0.1), ("C", 0.1), ("D", 0.1)], ["A"], k=3)

    assert tied[0].sku == "A"
    assert tied[0].score < sole[0].score
    assert tied[1].score == tied[2].score  # B and C: still tied, as far as full text goes


async def test_a_rare_word_finds_its_name_among_more_names_than_the_cap(
    rag_db, embedder, monkeypatch
):
    monkeypatch.setattr(search, "FTS_CAP", 3)
    lagunas = [product_in(f"KR-A-{n:03d}", f"Костюм Лагуна {n}") for n in range(6)]
    await indexed(rag_db, embedder, *lagunas, product_in("KR-B-001", "Костюм Вишня"))

    hits = await retrieve(rag_db, embedder, "вишня рожевий костюм", k=3)

    assert hits[0].sku == "KR-B-001"
    assert "fts" in hits[0].source


async def test_a_common_word_alone_still_ranks_capped_full_text_candidates(
    rag_db, embedder, monkeypatch
):
    monkeypatch.setattr(search, "FTS_CAP", 3)
    await indexed(
        rag_db, embedder, *[product_in(f"KR-A-{n:03d}", f"Костюм Лагуна {n}") for n in range(6)]
    )

    hits = await retrieve(rag_db, embedder, "костюм", k=3)

    assert len(hits) == 3
    assert any("fts" in h.source for h in hits)
