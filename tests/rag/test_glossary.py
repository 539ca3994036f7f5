"""English and Russian clothing words searched as the catalog's Ukrainian ones (rag/glossary)."""

from __future__ import annotations

import pytest

from app.rag.glossary import expand, translate
from app.rag.indexer import reindex
from app.rag.search import retrieve


@pytest.mark.parametrize(
    ("query", "sku"),
    [
        ("plaid flannel shirt with pockets", "KR-SH-002"),
        ("black pleated midi skirt", "KR-SK-001"),
        ("quilted winter puffer with a hood", "KR-JK-003"),
        ("юбка в клетку", "KR-SK-002"),
        ("рубашка в клетку", "KR-SH-002"),
        ("белая рубашка с воротником", "KR-SH-001"),
    ],
)
async def test_english_and_russian_requests_find_the_ukrainian_product(
    demo_catalog, embedder, query, sku
):
    await reindex(demo_catalog, embedder)

    hits = await retrieve(demo_catalog, embedder, query, k=3)

    assert sku in [h.sku for h in hits]


def test_a_pair_of_words_is_read_before_its_words():
    assert translate(["t", "shirt", "black"]) == ["футболка", "чорний"]
    assert translate(["shirt"]) == ["сорочка"]


def test_russian_stems_match_their_inflected_forms_only():
    assert expand("платьем") == "платьем сукня"
    assert expand("брюках") == "брюках штани"
    # Short keys match the whole word only, and Ukrainian words are left alone.
    assert expand("серый") == "серый сірий"
    assert expand("серія худі") == "серія худі"
    assert expand("джинсова куртка") == "джинсова куртка"


def test_a_request_without_glossary_words_is_searched_as_written():
    assert expand("костюм мрія") == "костюм мрія"
    assert expand("dresses") == "dresses сукня"
