"""Choosing the embedder from settings, and `kramar reindex`."""

from __future__ import annotations

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from app.catalog.importer import import_catalog
from app.config import RagSettings
from app.rag.embedders import EmbeddingError, HashingEmbedder, OpenAIEmbedder, create_embedder
from app.rag.models import ProductEmbedding
from tests.catalog.factories import catalog, write_yaml
from tests.servers.openai import OpenAIServer


def test_the_local_embedder_is_the_default():
    assert isinstance(create_embedder(RagSettings()), HashingEmbedder)


def test_the_openai_embedder_needs_a_key():
    with pytest.raises(EmbeddingError, match="KRAMAR_RAG_OPENAI_API_KEY"):
        create_embedder(RagSettings(embedder="openai"))


async def test_the_openai_embedder_talks_to_the_configured_endpoint():
    server = OpenAIServer(dimensions=32)
    server.start()
    try:
        embedder = create_embedder(
            RagSettings(
                embedder="openai",
                openai_base_url=server.base_url,
                openai_api_key=SecretStr("sk-rag"),
                openai_model="text-embedding-3-small",
                openai_dim=32,
            )
        )
        assert isinstance(embedder, OpenAIEmbedder)
        vectors = await embedder.embed(["рожевий костюм", "джинси мом"])
        assert len(vectors) == 2 and all(len(v) == 32 for v in vectors)
        [request] = server.requests
        assert request.headers["authorization"] == "Bearer sk-rag"
    finally:
        server.stop()


async def test_reindex_command_embeds_only_what_changed(kramar, session_factory, tmp_path):
    from app.catalog.importer import load_catalog

    path = write_yaml(tmp_path / "cat", catalog(3))
    await import_catalog(
        session_factory, load_catalog(path, max_catalog_bytes=10**7, max_photo_bytes=10**7)
    )

    code, out, _ = await kramar("reindex")
    again_code, again, _ = await kramar("reindex")

    assert code == 0 and again_code == 0
    assert "3 embedded, 0 unchanged of 3 products" in out
    assert "0 embedded, 3 unchanged of 3 products" in again
    async with session_factory() as session:
        assert await session.scalar(select(func.count()).select_from(ProductEmbedding)) == 3
