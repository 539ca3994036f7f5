"""Spend per UTC day and model, in memory and in a real Redis, and `kramar costs`."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from app.config import get_settings
from app.llm.commands import costs
from app.llm.costs import (
    MemoryLedger,
    RedisLedger,
    cost_usd,
    spend_report,
    total_usd,
    utc_today,
)
from app.llm.settings import LinkSettings
from tests.servers.redis import free_port

TODAY = date(2026, 11, 24)


@pytest.fixture(name="ledger", params=["memory", "redis"])
async def fx_ledger(request, redis_url):
    ledger = MemoryLedger() if request.param == "memory" else RedisLedger(redis_url)
    yield ledger
    await ledger.close()


def test_cost_is_tokens_times_price_per_million():
    link = LinkSettings(name="p", model="m", input_usd_per_mtok=3, output_usd_per_mtok=15)

    assert cost_usd(link, 2_000_000, 100_000) == pytest.approx(7.5)


async def test_spend_adds_up_per_day_and_model(ledger):
    await ledger.add(TODAY, "grok-4", 0.25, 1000, 100)
    await ledger.add(TODAY, "grok-4", 0.5, 2000, 200)
    await ledger.add(TODAY, "gpt-4o-mini", 0.01, 500, 50)
    await ledger.add(TODAY - timedelta(days=2), "grok-4", 1.0, 1, 1)
    await ledger.add(TODAY - timedelta(days=9), "grok-4", 100.0, 1, 1)

    rows = await spend_report(ledger, days=7, today=TODAY)

    assert [(d, m, round(usd, 6), i, o) for d, m, usd, i, o in rows] == [
        (TODAY, "gpt-4o-mini", 0.01, 500, 50),
        (TODAY, "grok-4", 0.75, 3000, 300),
        (TODAY - timedelta(days=2), "grok-4", 1.0, 1, 1),
    ]
    assert await total_usd(ledger, TODAY) == pytest.approx(0.76)


async def test_concurrent_adds_are_not_lost(ledger):
    await asyncio.gather(*(ledger.add(TODAY, "grok-4", 0.001, 10, 1) for _ in range(50)))

    [spend] = await ledger.spend(TODAY)

    assert spend.usd == pytest.approx(0.05)
    assert (spend.tokens_in, spend.tokens_out) == (500, 50)


async def test_redis_outage_reads_as_no_spend_and_does_not_raise():
    ledger = RedisLedger(f"redis://127.0.0.1:{free_port()}/0")

    await ledger.add(TODAY, "grok-4", 1.0, 1, 1)

    assert await ledger.spend(TODAY) == []
    await ledger.close()


async def test_costs_command_prints_the_table(redis_url):
    ledger = RedisLedger(redis_url)
    today = utc_today()
    await ledger.add(today, "grok-4", 0.75, 3000, 300)
    await ledger.close()

    def invoke():
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(costs, ["--days", "2"], env={"KRAMAR_REDIS_URL": redis_url})
        finally:
            get_settings.cache_clear()

    result = await asyncio.to_thread(invoke)

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["day", "model", "usd", "tokens", "in", "tokens", "out"]
    assert lines[1].split() == [today.isoformat(), "grok-4", "0.7500", "3000", "300"]
    assert lines[-1].split() == ["total", "0.7500", "3000", "300"]
