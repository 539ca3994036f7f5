"""A repeat photo through the cache against first sight through the model.

The model is the local OpenAI stand-in answering every request after 100 ms (the real SDK over
loopback HTTP). First sight of a photo the photo index does not know costs two model calls
(describe, then choose among the RAG top-3); a repeat of it is a cache hit.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import statistics
import time
from functools import partial

from PIL import Image, ImageDraw
from pydantic import SecretStr

from app.cache.memory import MemoryBackend
from app.cache.product import ProductCache
from app.cache.vision import VisionCache
from app.catalog.service import load_card
from app.catalog.version import CatalogVersion
from app.config import VisionSettings
from app.llm.client import ModelChain
from app.llm.settings import LinkSettings, LLMSettings
from app.rag.embedders import HashingEmbedder
from app.rag.search import retrieve
from app.vision.model import ModelVision
from app.vision.pipeline import CatalogPhotoIndex, PhotoIdentifier
from benchmarks.servers import demo_database
from benchmarks.table import Row
from tests.servers.openai import Answer, Hang, OpenAIServer

PHOTOS = 20
MODEL_DELAY = 0.1
# Valid for both questions: the description and the choice (unknown fields are ignored).
ANSWER = json.dumps(
    {"description": "рожевий плюшевий костюм", "sku": "KR-KS-001", "confidence": 0.8}
)


def unknown_photo(seed: int) -> bytes:
    """A 1280×960 JPEG of random shapes: no catalog photo is near it, so the model is asked."""
    rng = random.Random(seed)
    img = Image.new("RGB", (1280, 960), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(30):
        x, y = rng.randrange(1280), rng.randrange(960)
        draw.rectangle((x, y, x + rng.randrange(50, 400), y + rng.randrange(50, 400)),
                       fill=tuple(rng.randrange(256) for _ in range(3)))  # fmt: skip
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


async def main() -> list[Row]:
    server = OpenAIServer()
    server.start()
    server.default("model", Hang(MODEL_DELAY, then=Answer(ANSWER)))
    settings = VisionSettings()
    try:
        async with demo_database() as (engine, session_factory):
            version = CatalogVersion(engine)
            await version.start()
            backend = MemoryBackend()
            cards = ProductCache(
                backend, partial(load_card, session_factory), 3600, version.current
            )
            embedder = HashingEmbedder()

            async def top(query: str, k: int) -> list[str]:
                return [h.sku for h in await retrieve(session_factory, embedder, query, k=k)]

            link = LinkSettings(
                name="stand-in",
                model="model",
                base_url=server.base_url,
                api_key=SecretStr("sk-bench"),
                timeout=5,
                max_retries=0,
            )
            chain = ModelChain(LLMSettings(links=[link]))
            identifier = PhotoIdentifier(
                cache=VisionCache(backend, 86400, 6),
                index=CatalogPhotoIndex(session_factory, version),
                cards=cards.get,
                version=version,
                settings=settings,
                model=ModelVision(chain, top, cards.get, settings),
            )
            photos = [unknown_photo(seed) for seed in range(PHOTOS)]
            first: list[float] = []
            for photo in photos:
                started = time.perf_counter()
                result = await identifier.identify(photo)
                first.append(time.perf_counter() - started)
                assert result.source == "model", result
            repeat: list[float] = []
            for _ in range(10):
                for photo in photos:
                    started = time.perf_counter()
                    result = await identifier.identify(photo)
                    repeat.append(time.perf_counter() - started)
                    assert result.source == "cache", result
            await chain.close()
            await version.stop()
    finally:
        server.stop()
    first_ms, repeat_ms = statistics.median(first) * 1e3, statistics.median(repeat) * 1e3
    return [
        Row(
            "model",
            "first sight via model (2 calls × 100 ms), p50",
            first_ms,
            "ms",
            note="stand-in over HTTP",
        ),
        Row("model", "repeat of that photo via cache, p50", repeat_ms, "ms"),
        Row("model", "first sight / repeat", first_ms / repeat_ms, "×", goal=">= 200×"),
    ]


def run() -> list[Row]:
    return asyncio.run(main())
