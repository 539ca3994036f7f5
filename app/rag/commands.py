"""`kramar reindex`: embed new and changed products into the vector index."""

from __future__ import annotations

import asyncio

import click

from app.config import get_settings
from app.rag.embedders import create_embedder
from app.rag.indexer import IndexReport, reindex


async def _reindex(full: bool) -> IndexReport:
    # Deferred: importing the runtime starts nothing, but keeps `kramar --help` light.
    from app.db.runtime import open_database

    settings = get_settings()
    async with open_database(settings) as database:
        return await reindex(database.session_factory, create_embedder(settings.rag), full=full)


@click.command("reindex")
@click.option("--full", is_flag=True, help="Re-embed every product, not only changed ones.")
def reindex_command(full: bool) -> None:
    """Embed new and changed products with the KRAMAR_RAG_EMBEDDER embedder."""
    click.echo(asyncio.run(_reindex(full)).summary())
