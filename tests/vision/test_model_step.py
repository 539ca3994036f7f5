"""The model step of identification: the local OpenAI stand-in, the demo catalog and real RAG."""

from __future__ import annotations

import io
import json
from functools import cache, partial
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from app.cache.memory import MemoryBackend
from app.cache.product import ProductCache
from app.cache.vision import VisionCache
from app.catalog.importer import import_catalog, load_catalog
from app.catalog.service import load_card
from app.catalog.version import CatalogVersion
from app.config import VisionSettings
from app.rag.embedders import HashingEmbedder
from app.rag.indexer import reindex
from app.rag.search import retrieve
from app.vision.model import ModelVision
from app.vision.pipeline import CatalogPhotoIndex, PhotoIdentifier, catalog_photo_hasher
from tests.llm.factories import chain, link
from tests.servers.openai import Answer, Fail, OpenAIServer

DEMO = Path(__file__).resolve().parents[2] / "data" / "catalog" / "products_master.yaml"
ITEMS = load_catalog(DEMO, max_catalog_bytes=20_000_000, max_photo_bytes=5_000_000)
HASHER = cache(catalog_photo_hasher(VisionSettings()))


def customer_photo() -> bytes:
    """A photo the photo index cannot know: a drawn pink hoodie with GPS-like EXIF."""
    img = Image.new("RGB", (900, 1200), (236, 200, 210))
    draw = ImageDraw.Draw(img)
    draw.rectangle((200, 250, 700, 1000), fill=(230, 120, 160))
    draw.line((450, 250, 450, 1000), fill=(60, 60, 60), width=8)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make: must not reach the model provider
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90, exif=exif)
    return out.getvalue()


@pytest.fixture(name="server")
def fx_server():
    server = OpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="identifier")
async def fx_identifier(session_factory, db, server):
    settings = VisionSettings()
    await import_catalog(session_factory, ITEMS, photo_hasher=HASHER)
    embedder = HashingEmbedder()
    await reindex(session_factory, embedder)
    version = CatalogVersion(db)
    await version.start()
    backend = MemoryBackend()
    cards = ProductCache(
        backend, partial(load_card, session_factory), ttl=60, version=version.current
    )

    async def top(query: str, k: int) -> list[str]:
        return [hit.sku for hit in await retrieve(session_factory, embedder, query, k=k)]

    model_chain = chain(link(server, "vision", max_retries=0))
    identifier = PhotoIdentifier(
        cache=VisionCache(backend, ttl=60, max_distance=6),
        index=CatalogPhotoIndex(session_factory, version),
        cards=cards.get,
        version=version,
        settings=settings,
        model=ModelVision(model_chain, top, cards.get, settings),
    )
    yield identifier
    await model_chain.close()
    await version.stop()


def describe(text: str) -> Answer:
    return Answer(json.dumps({"description": text}, ensure_ascii=False))


def choose(sku: str | None, confidence: float = 0.8, question: str | None = None) -> Answer:
    return Answer(json.dumps({"sku": sku, "confidence": confidence, "question": question}))


async def test_an_unknown_photo_is_identified_by_the_model_among_the_rag_top_k(identifier, server):
    server.script(
        "vision", describe("рожевий плюшевий костюм з блискавкою і капюшоном"), choose("KR-KS-001")
    )

    result = await identifier.identify(customer_photo())

    assert (result.sku, result.source) == ("KR-KS-001", "model")
    assert "KR-KS-001" in result.candidates and len(result.candidates) == 3
    choose_request = server.requests_for("vision")[1]
    prompt = choose_request.messages[0]["content"]
    assert all(sku in prompt for sku in result.candidates)
    assert "KR-PJ-002" not in prompt  # only the top-k products, never the whole catalog


async def test_the_model_answer_is_cached_so_a_repeat_costs_no_call(identifier, server):
    server.script("vision", describe("рожевий плюшевий костюм"), choose("KR-KS-001"))
    photo = customer_photo()
    await identifier.identify(photo)

    again = await identifier.identify(photo)

    assert (again.sku, again.source) == ("KR-KS-001", "cache")
    assert len(server.requests_for("vision")) == 2


async def test_a_caption_replaces_the_description_call(identifier, server):
    server.script("vision", choose("KR-KS-001"))
    result = await identifier.identify(customer_photo(), caption="костюм Мрія рожевий є?")
    assert result.sku == "KR-KS-001"
    assert len(server.requests_for("vision")) == 1


async def test_a_sku_outside_the_candidates_is_rejected(identifier, server):
    server.script("vision", describe("рожевий плюшевий костюм"), choose("KR-PJ-002", 0.99))
    result = await identifier.identify(customer_photo())
    assert (result.sku, result.source) == (None, "none")


async def test_an_unsure_model_passes_on_its_question(identifier, server):
    server.script("vision", describe("щось рожеве"), choose(None, 0.2, "Це костюм чи худі?"))
    result = await identifier.identify(customer_photo())
    assert result.sku is None and result.question == "Це костюм чи худі?"


async def test_a_model_outage_means_not_found_not_an_error(identifier, server):
    server.default("vision", Fail(503))
    result = await identifier.identify(customer_photo())
    assert (result.sku, result.source) == (None, "none")


async def test_the_photo_goes_as_base64_without_its_metadata(identifier, server):
    server.script("vision", describe("рожевий костюм"), choose("KR-KS-001"))
    await identifier.identify(customer_photo())

    for request in server.requests_for("vision"):
        parts = request.messages[-1]["content"]
        [image] = [p for p in parts if p["type"] == "image_url"]
        url = image["image_url"]["url"]
        assert url.startswith("data:image/jpeg;base64,")
        import base64

        sent = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
        assert max(sent.size) <= 1024 and 0x010F not in sent.getexif()
