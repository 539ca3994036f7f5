"""The worker's span links back to the webhook request that stored the update."""

from __future__ import annotations

import asyncio

from litestar.testing import AsyncTestClient

from app.server import create_app
from tests.bot.conftest import HEADERS, bot_settings, wait_for
from tests.servers.otlp import OTLPCollector


async def test_the_update_span_links_to_the_webhook_span(database_url, db, telegram):
    collector = OTLPCollector()
    collector.start()
    try:
        settings = bot_settings(database_url, telegram, otlp_endpoint=collector.endpoint)
        async with AsyncTestClient(create_app(settings)) as client:
            update = telegram.message_update(7, "/help")
            assert (
                await client.post("/telegram/webhook", json=update, headers=HEADERS)
            ).status_code == 200
            await wait_for(telegram, 1)
            await asyncio.sleep(0.2)  # the worker's span ends after the reply
        # Leaving the app shut tracing down, which flushed the spans.
        [webhook] = collector.named("telegram.webhook")
        [processed] = collector.named("telegram.update")
    finally:
        collector.stop()
    assert webhook.attributes["telegram.kind"] == "command"
    assert processed.trace_id != webhook.trace_id
    assert processed.links == [(webhook.trace_id, webhook.span_id)]
