"""The model chain against the OpenAI stand-in, through the real openai SDK over HTTP."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import timedelta

from app.llm.client import REPAIR_PROMPT
from app.llm.costs import MemoryLedger, spend_report, utc_today
from tests.llm.factories import GOOD, Pick, link
from tests.servers.openai import Answer, Fail, Hang, rate_limited


async def test_answer_is_validated_and_its_cost_recorded(openai_server, make_chain):
    openai_server.script("grok", Answer(GOOD, prompt_tokens=1000, completion_tokens=200))
    ledger = MemoryLedger()
    model_chain = make_chain(link(openai_server, "grok"), ledger=ledger)

    result = await model_chain.complete([{"role": "user", "content": "Сукня?"}], schema=Pick)

    assert result.outcome == "ok"
    assert result.value == Pick(sku="DRS-001", confidence=0.9)
    assert (result.link, result.model, result.attempts, result.fallbacks) == ("grok", "grok", 1, 0)
    assert (result.tokens_in, result.tokens_out) == (1000, 200)
    # 1000 × $3/Mtok + 200 × $15/Mtok
    assert abs(result.cost_usd - 0.006) < 1e-12
    [row] = await spend_report(ledger)
    assert row[:2] == (utc_today(), "grok") and abs(row[2] - 0.006) < 1e-12
    assert row[3:] == (1000, 200)
    [request] = openai_server.requests
    assert request.headers["authorization"] == "Bearer sk-test"
    assert request.body["response_format"] == {"type": "json_object"}
    assert "JSON Schema" in request.messages[0]["content"]
    assert request.messages[-1] == {"role": "user", "content": "Сукня?"}


async def test_server_error_is_retried_on_the_same_link(openai_server, make_chain):
    openai_server.script("grok", Fail(500), Fail(503), Answer(GOOD))
    model_chain = make_chain(link(openai_server, "grok", max_retries=2))

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert result.outcome == "ok"
    assert result.attempts == 3
    assert result.fallbacks == 0


async def test_retry_after_of_a_429_is_waited_out(openai_server, make_chain):
    openai_server.script("grok", rate_limited(1), Answer(GOOD))
    model_chain = make_chain(link(openai_server, "grok"), link(openai_server, "mini"))

    started = time.monotonic()
    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert time.monotonic() - started >= 1.0
    assert (result.outcome, result.link, result.attempts) == ("ok", "grok", 2)
    assert openai_server.requests_for("mini") == []


async def test_retry_after_longer_than_the_cap_moves_to_the_next_link(openai_server, make_chain):
    openai_server.script("grok", rate_limited(60))
    openai_server.script("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok"), link(openai_server, "mini"), retry_after_max_seconds=5
    )

    started = time.monotonic()
    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert time.monotonic() - started < 1.0
    assert (result.outcome, result.link, result.fallbacks) == ("ok", "mini", 1)


async def test_hang_longer_than_the_link_timeout_is_retried(openai_server, make_chain):
    openai_server.script("grok", Hang(3), Answer(GOOD))
    model_chain = make_chain(link(openai_server, "grok", timeout=0.3))

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link, result.attempts) == ("ok", "grok", 2)


async def test_hang_on_the_last_try_moves_to_the_next_link(openai_server, make_chain):
    openai_server.script("grok", Hang(3))
    openai_server.script("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", timeout=0.3, max_retries=0), link(openai_server, "mini")
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link, result.fallbacks) == ("ok", "mini", 1)
    assert "timeout" in result.reasons[0]


async def test_broken_json_is_repaired_on_the_same_link(openai_server, make_chain):
    openai_server.script("grok", Answer('{"sku": "DRS-001", "confid'), Answer(GOOD))
    model_chain = make_chain(link(openai_server, "grok"), link(openai_server, "mini"))

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link, result.attempts) == ("ok", "grok", 2)
    repair = openai_server.requests_for("grok")[1].messages
    assert repair[-2] == {"role": "assistant", "content": '{"sku": "DRS-001", "confid'}
    assert repair[-1]["content"].startswith(REPAIR_PROMPT.split("{error}")[0])
    # Both responses were paid for.
    assert result.tokens_in == 200


async def test_json_of_the_wrong_shape_is_repaired_too(openai_server, make_chain):
    openai_server.script("grok", Answer('{"sku": "DRS-001"}'), Answer(f"```json\n{GOOD}\n```"))
    model_chain = make_chain(link(openai_server, "grok"))

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert result.value == Pick(sku="DRS-001", confidence=0.9)
    assert "confidence" in openai_server.requests_for("grok")[1].messages[-1]["content"]


async def test_broken_json_twice_moves_to_the_next_link(openai_server, make_chain):
    openai_server.script("grok", Answer("not json"), Answer("still not json"))
    openai_server.script("mini", Answer(GOOD))
    model_chain = make_chain(link(openai_server, "grok"), link(openai_server, "mini"))

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link, result.fallbacks, result.attempts) == ("ok", "mini", 1, 3)
    assert "invalid answer" in result.reasons[0]


async def test_primary_down_falls_back_to_the_second_link(openai_server, make_chain):
    openai_server.default("grok", Fail(502))
    openai_server.script("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", max_retries=1), link(openai_server, "mini")
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link, result.fallbacks) == ("ok", "mini", 1)
    assert len(openai_server.requests_for("grok")) == 2


async def test_unauthorized_link_is_not_retried(openai_server, make_chain):
    openai_server.script("grok", Fail(401))
    openai_server.script("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", max_retries=3), link(openai_server, "mini")
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert result.link == "mini"
    assert len(openai_server.requests_for("grok")) == 1
    assert result.reasons == ["grok: HTTP 401"]


async def test_all_links_down_is_exhausted_with_reasons(openai_server, make_chain):
    openai_server.default("grok", Fail(500))
    openai_server.default("mini", Fail(401))
    model_chain = make_chain(
        link(openai_server, "grok", max_retries=1), link(openai_server, "mini")
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert result.outcome == "exhausted"
    assert result.value is None and result.link is None
    assert result.reasons == ["grok: HTTP 500, 2 attempt(s)", "mini: HTTP 401"]
    assert (result.attempts, result.fallbacks) == (3, 1)


async def test_no_links_is_offline_without_a_request(openai_server, make_chain):
    model_chain = make_chain()

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert not model_chain.enabled
    assert (result.outcome, result.attempts) == ("offline", 0)
    assert openai_server.requests == []


async def test_breaker_opens_skips_the_link_and_probes_after_the_reset(openai_server, make_chain):
    openai_server.default("grok", Fail(500))
    openai_server.default("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", max_retries=0),
        link(openai_server, "mini"),
        breaker_failures=2,
        breaker_reset_seconds=0.2,
    )
    ask = [{"role": "user", "content": "?"}]
    await model_chain.complete(ask, schema=Pick)
    await model_chain.complete(ask, schema=Pick)
    assert model_chain.breaker_states()["grok"] == "open"

    skipped = await model_chain.complete(ask, schema=Pick)

    assert skipped.link == "mini"
    assert skipped.reasons == ["grok: circuit open"]
    assert len(openai_server.requests_for("grok")) == 2

    await asyncio.sleep(0.25)
    assert model_chain.breaker_states()["grok"] == "half_open"
    openai_server.default("grok", Answer(GOOD))
    probed = await model_chain.complete(ask, schema=Pick)

    assert probed.link == "grok"
    assert len(openai_server.requests_for("grok")) == 3
    assert model_chain.breaker_states()["grok"] == "closed"


async def test_failed_probe_reopens_the_breaker(openai_server, make_chain):
    openai_server.default("grok", Fail(500))
    model_chain = make_chain(
        link(openai_server, "grok", max_retries=0), breaker_failures=1, breaker_reset_seconds=0.2
    )
    ask = [{"role": "user", "content": "?"}]
    await model_chain.complete(ask, schema=Pick)
    await asyncio.sleep(0.25)

    await model_chain.complete(ask, schema=Pick)

    assert model_chain.breaker_states()["grok"] == "open"
    assert len(openai_server.requests_for("grok")) == 2


async def test_expensive_link_is_skipped_once_the_budget_is_spent(openai_server, make_chain):
    ledger = MemoryLedger()
    await ledger.add(utc_today(), "grok", 1.5, 100_000, 50_000)
    await ledger.add(utc_today() - timedelta(days=1), "grok", 9.0, 1, 1)  # yesterday's: no matter
    openai_server.default("grok", Answer(GOOD))
    openai_server.default("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", expensive=True),
        link(openai_server, "mini"),
        ledger=ledger,
        daily_budget_usd=1.0,
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link, result.fallbacks) == ("ok", "mini", 1)
    assert result.reasons == ["grok: daily budget reached"]
    assert openai_server.requests_for("grok") == []


async def test_expensive_link_runs_while_under_budget(openai_server, make_chain):
    ledger = MemoryLedger()
    await ledger.add(utc_today(), "grok", 0.5, 1, 1)
    openai_server.default("grok", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", expensive=True), ledger=ledger, daily_budget_usd=1.0
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert result.link == "grok"


async def test_images_are_sent_as_base64_data_urls(openai_server, make_chain):
    jpeg = b"\xff\xd8\xff\xe0" + b"photo" * 10
    png = b"\x89PNG\r\n\x1a\n" + b"pixels"
    openai_server.script("grok", Answer(GOOD))
    model_chain = make_chain(link(openai_server, "grok"))

    await model_chain.complete(
        [{"role": "system", "content": "Ти продавчиня."}, {"role": "user", "content": "Що це?"}],
        schema=Pick,
        images=[jpeg, png],
    )

    [request] = openai_server.requests
    system, user = request.messages
    assert system["content"].startswith("Ти продавчиня.") and "JSON Schema" in system["content"]
    text, first, second = user["content"]
    assert text == {"type": "text", "text": "Що це?"}
    urls = [first["image_url"]["url"], second["image_url"]["url"]]
    assert urls[0] == "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()
    assert urls[1] == "data:image/png;base64," + base64.b64encode(png).decode()
    assert all(not url.startswith("http") for url in urls)


async def test_overall_deadline_stops_the_chain_without_blaming_the_link(openai_server, make_chain):
    openai_server.script("grok", Hang(3))
    openai_server.default("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", timeout=5),
        link(openai_server, "mini"),
        deadline_seconds=0.4,
        breaker_failures=1,
    )

    started = time.monotonic()
    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert time.monotonic() - started < 1.0
    assert result.outcome == "deadline"
    assert result.reasons == ["grok: deadline reached"]
    assert openai_server.requests_for("mini") == []
    # One failure would open this breaker: the deadline was not counted as one.
    assert model_chain.breaker_states()["grok"] == "closed"


async def test_requests_tokens_cost_and_fallbacks_are_counted_in_metrics(openai_server, make_chain):
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    openai_server.script("down", Fail(500))
    openai_server.script("cheap", Answer(GOOD, prompt_tokens=100, completion_tokens=10))
    model_chain = make_chain(
        link(openai_server, "down", max_retries=0), link(openai_server, "cheap")
    )
    before = (
        sample("llm_requests_total", model="cheap", outcome="ok"),
        sample("llm_tokens_total", model="cheap", direction="in"),
        sample("llm_fallbacks_total"),
        sample("llm_cost_usd_total", model="cheap"),
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    after = (
        sample("llm_requests_total", model="cheap", outcome="ok"),
        sample("llm_tokens_total", model="cheap", direction="in"),
        sample("llm_fallbacks_total"),
        sample("llm_cost_usd_total", model="cheap"),
    )
    assert result.outcome == "ok"
    assert [a - b for a, b in zip(after, before, strict=True)][:3] == [1, 100, 1]
    assert after[3] - before[3] == result.cost_usd > 0
