"""Settings and chains pointed at the OpenAI stand-in, with timings small enough for tests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from app.llm.client import ModelChain
from app.llm.costs import CostLedger, MemoryLedger
from app.llm.settings import LinkSettings, LLMSettings
from tests.servers.openai import OpenAIServer


class Pick(BaseModel):
    """The answer shape the tests ask for."""

    sku: str
    confidence: float


GOOD = '{"sku": "DRS-001", "confidence": 0.9}'


def link(server: OpenAIServer, name: str, **overrides: Any) -> LinkSettings:
    """A link to the stand-in whose model id is `name`."""
    fields: dict[str, Any] = {
        "name": name,
        "model": name,
        "base_url": server.base_url,
        "api_key": SecretStr("sk-test"),
        "timeout": 2.0,
        "max_retries": 2,
        "input_usd_per_mtok": 3.0,
        "output_usd_per_mtok": 15.0,
    }
    fields.update(overrides)
    return LinkSettings(**fields)


def chain(*links: LinkSettings, ledger: CostLedger | None = None, **overrides: Any) -> ModelChain:
    fields: dict[str, Any] = {
        "links": list(links),
        "backoff_seconds": 0.01,
        "deadline_seconds": 10.0,
        "breaker_failures": 5,
        "breaker_reset_seconds": 30.0,
    }
    fields.update(overrides)
    settings = LLMSettings(_env_file=None, **fields)
    return ModelChain(settings, ledger=ledger if ledger is not None else MemoryLedger())
