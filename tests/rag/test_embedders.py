from __future__ import annotations

import math

import pytest
from openai import AsyncOpenAI

from app.rag.embedders import EmbeddingError, HashingEmbedder, OpenAIEmbedder, normalize
from tests.servers.openai import OpenAIServer


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_hashing_embedder_is_deterministic_and_unit_length() -> None:
    first, again = HashingEmbedder(), HashingEmbedder()
    [a] = await first.embed(["Костюм «Мрія» рожевий"])
    [b] = await again.embed(["Костюм «Мрія» рожевий"])
    assert a == b
    assert len(a) == first.dim
    assert math.isclose(math.fsum(x * x for x in a), 1.0)


async def test_empty_text_embeds_to_zero_vector() -> None:
    [vector] = await HashingEmbedder().embed(["  ,. "])
    assert not any(vector)


@pytest.mark.parametrize(
    ("word", "misspelled", "unrelated"),
    [
        ("блискавка", "блыскавка", "ґудзики"),
        ("лагуна", "лагунна", "куртка"),
        ("спідниця", "спидныця", "пальто"),
        ("кардиган", "кардіган", "сорочка"),
    ],
)
async def test_misspelling_is_nearer_its_word_than_an_unrelated_word(
    word: str, misspelled: str, unrelated: str
) -> None:
    word_v, typo_v, other_v = await HashingEmbedder().embed([word, misspelled, unrelated])
    assert cosine(word_v, typo_v) > cosine(word_v, other_v) + 0.3


async def test_inflected_form_is_near_its_base_form() -> None:
    base, inflected, other = await HashingEmbedder().embed(
        ["костюм з блискавкою", "блискавка костюм", "сукня в горошок"]
    )
    assert cosine(base, inflected) > 0.5 > cosine(base, other)


def test_normalize_folds_apostrophes_and_transliterates_latin() -> None:
    assert normalize("В'язаний М’ЯКИЙ") == ["вязании", "мякии"]
    assert normalize("mom jeans") == ["mom", "jeans", "мом", "джеанс"]


async def test_openai_embedder_batches_and_keeps_input_order() -> None:
    server = OpenAIServer(dimensions=8)
    server.start()
    try:
        embedder = OpenAIEmbedder(
            lambda: AsyncOpenAI(api_key="test", base_url=server.base_url, max_retries=0),
            model="text-embedding-3-small",
            dim=8,
            batch_size=2,
        )
        texts = ["a", "bb cc", "ddd", "e e e e"]
        vectors = await embedder.embed(texts)
    finally:
        server.stop()
    assert [len(r.body["input"]) for r in server.requests] == [2, 2]
    for text, vector in zip(texts, vectors, strict=True):
        expected = server.embedding(text, 8)
        norm = math.sqrt(sum(x * x for x in expected))
        assert vector == pytest.approx([x / norm for x in expected], rel=1e-5)
    assert embedder.name == "openai:text-embedding-3-small:8"


async def test_openai_embedder_rejects_a_wrong_dimension() -> None:
    server = OpenAIServer(dimensions=4)  # a misconfigured model: 4 dimensions, not 8
    server.start()
    try:
        embedder = OpenAIEmbedder(
            lambda: AsyncOpenAI(api_key="test", base_url=server.base_url, max_retries=0),
            dim=8,
        )
        with pytest.raises(EmbeddingError, match="4 dimensions"):
            await embedder.embed(["x"])
    finally:
        server.stop()
