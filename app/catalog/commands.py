"""`kramar catalog ...`: import and export catalog files."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.catalog.errors import CatalogFileError
from app.config import get_settings

if TYPE_CHECKING:
    from app.catalog.importer import CatalogItem
    from app.config import Settings


@click.group()
def catalog() -> None:
    """Import or export the catalog (products_master.yaml or CSV)."""


@catalog.command("import")
@click.argument("file", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print what would change; write nothing.")
@click.option("--prune", is_flag=True, help="Deactivate products the file does not list.")
@click.option(
    "--if-empty", is_flag=True, help="Import only into a catalog with no products (first run)."
)
def import_command(file: Path | None, dry_run: bool, prune: bool, if_empty: bool) -> None:
    """Import FILE (YAML or CSV; default: KRAMAR_CATALOG_FILE) and print what changed.

    Products are matched by SKU; only what differs is written, all in one transaction. Any problem
    in the file or its photos is printed as `file:line: field: problem` and nothing is written.
    """
    from app.cli import run  # here: app.cli imports this module

    settings = get_settings()
    run(_import(settings, file or settings.catalog_file, dry_run, prune, if_empty))


async def _import(
    settings: Settings, path: Path, dry_run: bool, prune: bool, if_empty: bool
) -> int:
    from app.catalog.importer import count_products, import_catalog
    from app.db.runtime import open_database
    from app.vision.pipeline import catalog_photo_hasher

    try:
        # A broken file fails before a database is opened (the embedded one takes seconds).
        items = None if if_empty else await load_items(settings, path)
        async with open_database(settings) as db:
            if if_empty:
                count = await count_products(db.session_factory)
                if count:
                    click.echo(f"the catalog has {count} products: nothing imported (--if-empty)")
                    return 0
                items = await load_items(settings, path)
            assert items is not None
            plan = await import_catalog(
                db.session_factory,
                items,
                prune=prune,
                dry_run=dry_run,
                photo_hasher=catalog_photo_hasher(settings.vision),
            )
    except CatalogFileError as error:
        for problem in error.problems:
            click.echo(problem, err=True)
        click.echo(f"{len(error.problems)} problem(s): nothing imported", err=True)
        return 1
    click.echo(f"{path}: {plan.summary()}")
    return 0


async def load_items(settings: Settings, path: Path) -> list[CatalogItem]:
    """The catalog file at `path` with its photos, read off the event loop."""
    from app.catalog.importer import load_catalog

    return await asyncio.to_thread(
        load_catalog,
        path,
        max_catalog_bytes=settings.max_catalog_bytes,
        max_photo_bytes=settings.max_photo_bytes,
    )


@catalog.command("export")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, allow_dash=True))
def export_command(file: Path) -> None:
    """Write the catalog to FILE as YAML, with its photos in a `photos/` folder next to it.

    With `-`, the YAML goes to standard output and no photo files are written.
    """
    from app.cli import run

    run(_export(get_settings(), file))


async def _export(settings: Settings, out: Path) -> int:
    from app.catalog.exporter import export_catalog, render_catalog
    from app.db.runtime import open_database

    async with open_database(settings) as db:
        if str(out) == "-":
            sys.stdout.write(await render_catalog(db.session_factory))
            return 0
        count = await export_catalog(db.session_factory, out)
    click.echo(f"exported {count} products to {out}")
    return 0
