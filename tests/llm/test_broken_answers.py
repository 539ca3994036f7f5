"""Answers that break in transit: slow streams, cut bodies, bodies that are not completions.

Each moves the chain to the next link within the link's own timeout, never raising into the
turn and never holding the customer until the chain's whole deadline.
"""

from __future__ import annotations

import time

import pytest

from tests.llm.factories import GOOD, Pick, link
from tests.servers.openai import Answer, Drip, Raw, Truncated


async def test_a_body_dripping_slower_than_the_link_timeout_moves_on_in_time(
    openai_server, make_chain
):
    # Eight bytes every 0.2 s: every read gets something, so a per-read timeout never fires.
    openai_server.default("grok", Drip(Answer(GOOD), interval=0.2))
    openai_server.script("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", timeout=0.5, max_retries=0),
        link(openai_server, "mini"),
        deadline_seconds=20,
    )

    started = time.monotonic()
    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link) == ("ok", "mini")
    assert time.monotonic() - started < 3
    assert "grok: timeout after 0.5 s" in result.reasons[0]


@pytest.mark.parametrize(
    "broken",
    [
        Truncated(Answer(GOOD), keep=40),
        Raw(b'{"id": "chatcmpl-1", "object": "chat.completion", "choi'),
        Raw(b"<html>502 Bad Gateway</html>"),
        Raw(b'{"unexpected": true}'),
        Raw(b"[]"),
    ],
    ids=["cut-short", "truncated-json", "not-json", "not-a-completion", "a-list"],
)
async def test_a_broken_response_body_is_the_links_failure(openai_server, make_chain, broken):
    openai_server.default("grok", broken)
    openai_server.script("mini", Answer(GOOD))
    model_chain = make_chain(
        link(openai_server, "grok", max_retries=1), link(openai_server, "mini")
    )

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert (result.outcome, result.link, result.value) == (
        "ok",
        "mini",
        Pick.model_validate_json(GOOD),
    )
    assert result.reasons and result.reasons[0].startswith("grok: ")


async def test_every_link_broken_is_exhausted_not_an_exception(openai_server, make_chain):
    openai_server.default("grok", Raw(b"not json"))
    openai_server.default("mini", Truncated())
    model_chain = make_chain(link(openai_server, "grok"), link(openai_server, "mini"))

    result = await model_chain.complete([{"role": "user", "content": "?"}], schema=Pick)

    assert result.outcome == "exhausted" and result.value is None
