"""The stand-in itself, as the openai SDK sees it."""

from __future__ import annotations

import openai
import pytest


@pytest.fixture(name="client")
async def fx_client(openai_server):
    client = openai.AsyncOpenAI(base_url=openai_server.base_url, api_key="sk-test", max_retries=0)
    yield client
    await client.close()


async def test_embeddings_are_deterministic_unit_vectors(client):
    first = await client.embeddings.create(model="emb", input=["сукня", "жакет"], dimensions=16)
    again = await client.embeddings.create(model="emb", input="сукня", dimensions=16)

    dress, jacket = (item.embedding for item in first.data)
    assert len(dress) == 16
    assert dress == pytest.approx(again.data[0].embedding, abs=1e-6)
    assert dress != jacket
    assert sum(v * v for v in dress) == pytest.approx(1.0, abs=1e-5)


async def test_float_embeddings_are_served_too(client):
    response = await client.embeddings.create(
        model="emb", input="сукня", dimensions=8, encoding_format="float"
    )

    assert len(response.data[0].embedding) == 8


async def test_unknown_route_is_a_404(client):
    with pytest.raises(openai.NotFoundError):
        await client.post("/nothing", body={}, cast_to=object)
