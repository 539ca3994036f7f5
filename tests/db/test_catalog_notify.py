"""The catalog trigger's NOTIFY names the version, the kind of change and the SKUs touched."""

from __future__ import annotations

import asyncio
import json
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from app.catalog.service import CatalogService
from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine
from app.db.listen import raw_dsn
from tests.factories import add_product

# The revision before this one, whatever the chain becomes at merge.
_THIS = ScriptDirectory.from_config(migrate.alembic_config()).get_revision("0012")
assert _THIS is not None and isinstance(_THIS.down_revision, str)
BEFORE = _THIS.down_revision
INSERT = (
    "INSERT INTO products (sku, name, description, category, price, visual_features,"
    " recognition_tips, tags, sizes, colours, active)"
    " SELECT 'KR-BULK-' || lpad(n::text, 5, '0'), 'Т', '', 'футболки', 10, '', '', '{}', '{S}',"
    " '{білий}', true FROM generate_series(1, :count) AS n"
)


@asynccontextmanager
async def notifications(engine):
    """Payloads on kramar_catalog (parsed), as a list that fills while the block runs."""
    received: list[Any] = []
    conn = await asyncpg.connect(raw_dsn(engine))
    await conn.add_listener("kramar_catalog", lambda *args: received.append(json.loads(args[3])))
    try:
        yield received
    finally:
        await conn.close()


async def settled(received: list[Any], count: int) -> list[Any]:
    async with asyncio.timeout(5):
        while len(received) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    return received


async def test_a_product_write_names_its_sku_as_a_content_change(db, session_factory):
    async with notifications(db) as received:
        product = await add_product(session_factory)
        await settled(received, 2)  # the product, then its variants
    products = [p for p in received if p["kind"] == "content"]
    assert products == [{"v": products[0]["v"], "kind": "content", "skus": [product.sku]}]
    assert {p["kind"] for p in received} == {"content", "stock"}
    assert [p["skus"] for p in received if p["kind"] == "stock"] == [[product.sku]]


async def test_stock_photo_and_delete_changes_say_so(db, session_factory):
    product = await add_product(session_factory)
    async with notifications(db) as received:
        async with CatalogService(session_factory) as catalog:
            await catalog.set_stock(product.sku, "S", "чорний", 7)
        async with db.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO product_photos (product_id, position, source)"
                    " SELECT id, 5, 'https://example.com/x.jpg' FROM products"
                )
            )
            await conn.execute(text("DELETE FROM products"))
        await settled(received, 4)
    kinds = [(p["kind"], p["skus"]) for p in received]
    assert ("stock", [product.sku]) in kinds
    assert ("photos", [product.sku]) in kinds
    assert ("content", [product.sku]) in kinds  # the delete
    versions = [p["v"] for p in received]
    assert versions == sorted(versions)


async def test_a_statement_of_too_many_skus_sends_null_meaning_reconcile(db):
    async with notifications(db) as received:
        async with db.begin() as conn:
            await conn.execute(text(INSERT), {"count": 1000})
        await settled(received, 1)
    assert received[0]["kind"] == "content" and received[0]["skus"] is None


async def test_any_other_table_calling_the_function_sends_a_stock_change(db):
    async with db.begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS scratch_reservations (id int)"))
        await conn.execute(
            text(
                "CREATE OR REPLACE TRIGGER scratch_bump AFTER INSERT ON scratch_reservations"
                " FOR EACH STATEMENT EXECUTE FUNCTION kramar_bump_catalog_version()"
            )
        )
    try:
        async with notifications(db) as received:
            async with db.begin() as conn:
                await conn.execute(text("INSERT INTO scratch_reservations VALUES (1)"))
            await settled(received, 1)
        assert received[0]["kind"] == "stock" and received[0]["skus"] == []
    finally:
        async with db.begin() as conn:
            await conn.execute(text("DROP TABLE scratch_reservations"))


async def test_the_migration_goes_down_to_the_bare_version_and_up_again(postgres):
    url = postgres.create_database("kramar_notify_downgrade")
    engine = create_engine(url, DatabaseSettings())
    try:
        await migrate.upgrade(engine)

        def down(connection, revision: str) -> None:
            cfg = migrate.alembic_config()
            cfg.attributes["connection"] = connection
            command.downgrade(cfg, revision)

        async with engine.begin() as conn:
            await conn.run_sync(down, BEFORE)
        async with notifications(engine) as received:
            async with engine.begin() as conn:
                await conn.execute(text(INSERT), {"count": 2})
            await asyncio.sleep(0.2)
        assert len(received) == 1 and isinstance(received[0], int)  # the bare version again
        await migrate.upgrade(engine)
        assert await migrate.current_revisions(engine) == migrate.head_revisions()
    finally:
        await engine.dispose()
