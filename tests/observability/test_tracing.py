"""Spans reach an OTLP/HTTP collector (a local stand-in) through the real exporter; unset, none."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from app.cache.redis import RedisBackend
from app.catalog.service import load_card
from app.config import Settings
from app.observability import tracing
from tests.llm.factories import GOOD, Pick, chain, link
from tests.servers.openai import Answer, Fail, OpenAIServer
from tests.servers.otlp import OTLPCollector
from tests.servers.redis import free_port

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

ROOT = Path(__file__).resolve().parents[2]
QUESTION = [{"role": "user", "content": "Сукня?"}]


@pytest.fixture(name="collector", scope="module")
def fx_collector() -> Iterator[OTLPCollector]:
    server = OTLPCollector()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="openai_server")
def fx_openai_server() -> Iterator[OpenAIServer]:
    server = OpenAIServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(name="export")
def fx_export(collector: OTLPCollector) -> Iterator[Callable[[], None]]:
    """Tracing on, to the collector; calling it flushes and turns tracing off again."""
    collector.clear()
    shutdown = tracing.configure_tracing(Settings(_env_file=None, otlp_endpoint=collector.endpoint))
    assert shutdown is not None
    yield shutdown
    shutdown()


async def test_model_call_is_exported_with_its_outcome_and_tokens(collector, openai_server, export):
    openai_server.script("grok", Answer(GOOD, prompt_tokens=1000, completion_tokens=200))
    model_chain = chain(link(openai_server, "grok"))

    result = await model_chain.complete(QUESTION, schema=Pick)
    await model_chain.close()
    export()

    assert result.outcome == "ok"
    [complete] = collector.named("llm.complete")
    assert complete.attributes == {
        "llm.schema": "Pick",
        "llm.images": 0,
        "llm.outcome": "ok",
        "llm.link": "grok",
        "gen_ai.response.model": "grok",
        "llm.attempts": 1,
        "llm.fallbacks": 0,
        "gen_ai.usage.input_tokens": 1000,
        "gen_ai.usage.output_tokens": 200,
        "llm.cost_usd": pytest.approx(0.006),
    }
    assert complete.resource["service.name"] == "kramar"
    assert "service.version" in complete.resource
    [request] = collector.named("llm.request")
    assert (request.trace_id, request.parent_span_id) == (complete.trace_id, complete.span_id)
    assert request.attributes["gen_ai.request.model"] == "grok"


async def test_failed_attempt_is_an_error_span_with_its_status_code(
    collector, openai_server, export
):
    openai_server.script("grok", Fail(503), Answer(GOOD))
    model_chain = chain(link(openai_server, "grok"))

    await model_chain.complete(QUESTION, schema=Pick)
    await model_chain.close()
    export()

    failed, answered = collector.named("llm.request")
    assert failed.status == 2  # error
    assert failed.attributes["http.response.status_code"] == 503
    assert failed.attributes["error.type"] == "InternalServerError"
    assert (failed.attributes["llm.retry"], answered.attributes["llm.retry"]) == (0, 1)
    assert answered.status == 0
    [complete] = collector.named("llm.complete")
    assert complete.attributes["llm.attempts"] == 2


async def test_without_an_endpoint_nothing_is_sent(collector, openai_server):
    collector.clear()
    openai_server.script("grok", Answer(GOOD))
    model_chain = chain(link(openai_server, "grok"))

    assert tracing.configure_tracing(Settings(_env_file=None)) is None
    await model_chain.complete(QUESTION, schema=Pick)
    await model_chain.close()
    tracing.flush()

    assert not tracing.enabled()
    assert collector.requests == 0


def test_without_an_endpoint_no_provider_is_installed():
    # A fresh interpreter: this one may have installed the provider in another test already.
    code = """
import sys
from opentelemetry import trace
from app.config import Settings
from app.observability import tracing
assert tracing.configure_tracing(Settings(_env_file=None)) is None
assert type(trace.get_tracer_provider()).__name__ == "ProxyTracerProvider"
with tracing.span("x", {"a": 1}) as current:
    assert not current.is_recording()
assert tracing.inject_context() == {}
assert "opentelemetry.sdk.trace" not in sys.modules, "the SDK was loaded"
"""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(Path.home())}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


async def test_worker_span_links_to_the_webhook_request_that_stored_the_update(collector, export):
    with tracing.span("telegram.webhook") as request:
        carrier = tracing.inject_context()
    with tracing.span("telegram.update", links=tracing.links_from(carrier, None, {})):
        pass
    export()

    [webhook] = collector.named("telegram.webhook")
    [worker] = collector.named("telegram.update")
    assert carrier["traceparent"].split("-")[1] == webhook.trace_id
    assert worker.links == [(webhook.trace_id, webhook.span_id)]
    assert worker.trace_id != webhook.trace_id
    assert request.get_span_context().span_id == int(webhook.span_id, 16)


async def test_extracted_context_continues_the_stored_trace(collector, export):
    with tracing.span("telegram.webhook"):
        carrier = tracing.inject_context()
    with tracing.span("telegram.update", context=tracing.extract_context(carrier)):
        pass
    export()

    [webhook] = collector.named("telegram.webhook")
    [worker] = collector.named("telegram.update")
    assert (worker.trace_id, worker.parent_span_id) == (webhook.trace_id, webhook.span_id)


async def test_exception_marks_the_span_without_its_message(collector, export):
    with pytest.raises(ValueError, match="customer"), tracing.span("turn", {"skipped": None}):
        raise ValueError("what a customer wrote")
    export()

    [turn] = collector.named("turn")
    assert turn.status == 2
    assert turn.attributes == {"error.type": "ValueError"}


async def test_redis_trouble_is_written_on_the_callers_span_without_keys(
    collector, export, redis_url
):
    backend = RedisBackend(redis_url)
    with tracing.span("telegram.update"):
        await backend.set("session:12345", b"x", ttl=60)
        assert await backend.get("session:12345") == b"x"
    await backend.close()
    dead = RedisBackend(f"redis://127.0.0.1:{free_port()}/0")
    with tracing.span("telegram.update"):
        assert await dead.get("session:12345") is None
    await dead.close()
    export()

    healthy, troubled = collector.named("telegram.update")
    assert len(collector.spans) == 2  # no span per command
    assert healthy.attributes == {}
    assert troubled.attributes == {"redis.error": "redis GET: ConnectionError"}
    assert "12345" not in str(troubled.attributes)


async def test_catalog_reads_are_spans(collector, export, session_factory):
    assert await load_card(session_factory, "KR-NONE") is None
    export()

    assert [s.name for s in collector.spans] == ["catalog.load_card"]
