"""Without a public URL the bot long-polls into the same inbox (a laptop with a bot token)."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from app.server import create_app
from tests.bot.conftest import bot_settings, wait_for


async def test_long_polling_feeds_the_inbox_and_the_bot_answers(
    database_url, db, telegram, demo_catalog
):
    settings = bot_settings(database_url, telegram, public_url=None)
    async with AsyncTestClient(create_app(settings)) as client:
        telegram.queue_update(telegram.message_update(7, "скільки коштує KR-KS-002"))
        telegram.queue_update(telegram.message_update(7, "/help"))
        sent = await wait_for(telegram, 2)
        webhook = await client.post("/telegram/webhook", json={"update_id": 1})
    assert webhook.status_code == 404  # no webhook route without a public URL
    assert telegram.calls_to("deleteWebhook") and not telegram.calls_to("setWebhook")
    assert "1\xa0650" in (sent[0].visible or "") and "Що я вмію" in (sent[1].visible or "")
