"""The OpenAI stand-in, and chains pointed at it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.llm.factories import chain
from tests.servers.openai import OpenAIServer

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from app.llm.client import ModelChain
    from app.llm.settings import LinkSettings


@pytest.fixture(name="openai_server")
def fx_openai_server() -> Iterator[OpenAIServer]:
    """A fresh stand-in per test: its own scripts and request record."""
    server = OpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="make_chain")
async def fx_make_chain() -> AsyncIterator[Callable[..., ModelChain]]:
    """Build chains with `tests.llm.factories.chain`; their HTTP clients close after the test."""
    made: list[ModelChain] = []

    def make(*links: LinkSettings, **overrides: Any) -> ModelChain:
        made.append(chain(*links, **overrides))
        return made[-1]

    yield make
    for model_chain in made:
        await model_chain.close()
