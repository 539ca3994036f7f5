from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine, normalize_url


async def test_fresh_database_is_behind_until_migrated(postgres):
    url = postgres.create_database("kramar_fresh")
    engine = create_engine(url, DatabaseSettings())
    try:
        with pytest.raises(migrate.SchemaBehindError, match="kramar migrate"):
            await migrate.ensure_current(engine)
        await migrate.upgrade(engine)
        await migrate.ensure_current(engine)
        await migrate.upgrade(engine)  # idempotent
        async with engine.connect() as conn:
            ext = await conn.scalar(
                text("SELECT extversion FROM pg_extension WHERE extname='vector'")
            )
        assert ext
    finally:
        await engine.dispose()


async def test_every_catalog_write_bumps_the_version(db):
    async with db.begin() as conn:
        before = await conn.scalar(text("SELECT version FROM catalog_state"))
        await conn.execute(
            text(
                "INSERT INTO products (sku, name, description, category, price, visual_features,"
                " recognition_tips, tags, sizes, colours, active)"
                " VALUES ('KR-T-1', 'Т', '', 'футболки', 10, '', '', '{}', '{S}', '{білий}', true)"
            )
        )
        after = await conn.scalar(text("SELECT version FROM catalog_state"))
    assert after == before + 1


def test_only_postgres_urls_are_accepted():
    assert normalize_url("postgres://u:p@h/db").drivername == "postgresql+asyncpg"
    with pytest.raises(ValueError, match="PostgreSQL"):
        normalize_url("sqlite+aiosqlite:///x.db")


async def test_migrations_match_the_models(db):
    """Every table and column the models declare is what the migrations built (no drift)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.db.models import metadata

    def diff(connection):
        context = MigrationContext.configure(connection)
        return compare_metadata(context, metadata)

    async with db.connect() as conn:
        changes = await conn.run_sync(diff)
    # Table and column drift. products.search_document is the RAG part's generated column,
    # deliberately not in the catalog's ORM model.
    relevant = [
        c for c in changes if c[0] in {"add_table", "remove_table", "add_column", "remove_column"}
    ]
    relevant = [
        c for c in relevant if not (c[0] == "remove_column" and c[3].name == "search_document")
    ]
    assert relevant == []


async def test_only_photo_changes_move_the_photo_index_version(db, session_factory):
    from app.catalog.importer import import_catalog
    from app.catalog.service import CatalogService
    from tests.fixtures_demo import HASHER, demo_items

    async def photo_version() -> int:
        async with db.connect() as conn:
            return int(await conn.scalar(text("SELECT version FROM photo_index_state")))

    await import_catalog(session_factory, demo_items()[:2], photo_hasher=HASHER)
    imported = await photo_version()
    async with CatalogService(session_factory) as catalog:
        await catalog.set_stock("KR-KS-001", "M", "рожевий", 1)
        await catalog.set_price("KR-KS-001", Decimal("999"))
    after_stock_and_price = await photo_version()
    async with CatalogService(session_factory) as catalog:
        await catalog.deactivate("KR-KS-002")
    after_deactivation = await photo_version()

    assert imported > 0
    assert after_stock_and_price == imported
    assert after_deactivation == imported + 1
