"""`kramar costs`: what the models cost, per UTC day and model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from app.config import get_settings

if TYPE_CHECKING:
    from app.config import Settings
    from app.llm.costs import CostLedger


def open_ledger(settings: Settings) -> CostLedger:
    """The spend ledger of this deployment: Redis when configured, else this process's memory."""
    from app.llm.costs import MemoryLedger, RedisLedger

    if settings.redis.url is None:
        return MemoryLedger()
    return RedisLedger(
        settings.redis.url.get_secret_value(), max_connections=settings.redis.max_connections
    )


@click.command()
@click.option(
    "--days", default=7, show_default=True, type=click.IntRange(1, 366), help="UTC days to show."
)
def costs(days: int) -> None:
    """Print the spend on models per UTC day and model, newest first (kept in Redis)."""
    from app.cli import run  # here: app.cli imports this module

    run(_costs(get_settings(), days))


async def _costs(settings: Settings, days: int) -> int:
    from app.llm.costs import spend_report

    if settings.redis.url is None:
        click.echo("no KRAMAR_REDIS_URL: spend is kept in each process's memory only", err=True)
    ledger = open_ledger(settings)
    try:
        rows = await spend_report(ledger, days)
    finally:
        await ledger.close()
    header = ("day", "model", "usd", "tokens in", "tokens out")
    table = [header] + [
        (day.isoformat(), model, f"{usd:.4f}", str(t_in), str(t_out))
        for day, model, usd, t_in, t_out in rows
    ]
    total = sum(row[2] for row in rows)
    table.append(
        ("total", "", f"{total:.4f}", str(sum(r[3] for r in rows)), str(sum(r[4] for r in rows)))
    )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        cells = [
            cell.rjust(width) if i >= 2 else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        click.echo("  ".join(cells).rstrip())
    return 0
