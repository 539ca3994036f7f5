from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.config import DatabaseSettings
from app.db import migrate
from app.db.engine import create_engine
from app.db.models import metadata

ORDER_TABLES = {"orders", "order_lines", "order_events"}


def _touches_orders(change) -> bool:
    """Whether one autogenerate diff entry concerns an order table (entries nest in lists)."""
    if isinstance(change, list):
        return any(_touches_orders(c) for c in change)
    for part in change:
        table = getattr(part, "table", None)
        name = getattr(table, "name", None) or getattr(part, "name", None)
        if name in ORDER_TABLES or part in ORDER_TABLES:
            return True
    return False


async def test_migration_builds_what_the_order_models_declare(db):
    """Tables, columns, indexes, unique constraints and foreign keys: no drift at all."""

    def diff(connection):
        return compare_metadata(MigrationContext.configure(connection), metadata)

    async with db.connect() as conn:
        changes = await conn.run_sync(diff)

    assert [c for c in changes if _touches_orders(c)] == []


async def test_one_draft_per_chat_is_enforced_by_a_partial_unique_index(db):
    def indexes(connection):
        return {i["name"]: i for i in inspect(connection).get_indexes("orders")}

    async with db.connect() as conn:
        found = await conn.run_sync(indexes)
        definition = await conn.scalar(
            text("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_orders_one_draft_per_chat'")
        )

    assert found["uq_orders_one_draft_per_chat"]["unique"]
    assert "WHERE ((status)::text = 'draft'::text)" in definition


async def test_0009_turns_what_was_left_into_on_hand_and_back(postgres):
    """The old `stock` was on hand less open reservations; 0009 adds those back, and only those."""
    url = postgres.create_database("kramar_stock_0009")
    engine = create_engine(url, DatabaseSettings())

    def downgrade(connection, revision):
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    try:
        await migrate.upgrade(engine, "0008")
        async with engine.begin() as conn:
            for statement in OLD_ROWS:
                await conn.execute(text(statement))
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            after = (
                await conn.execute(
                    text("SELECT on_hand, reserved, available FROM variant_stock ORDER BY 1")
                )
            ).all()
        async with engine.begin() as conn:
            await conn.run_sync(downgrade, "0008")
        async with engine.connect() as conn:
            back = await conn.scalar(text("SELECT stock FROM product_variants"))
    finally:
        await engine.dispose()

    # 2 left, 1 on a draft and 1 on a paid order (reserved), 1 shipped and 4 cancelled (not).
    assert [tuple(row) for row in after] == [(4, 2, 2)]
    assert back == 2


OLD_ROWS = (
    "INSERT INTO products (id, sku, name, description, category, price, visual_features,"
    " recognition_tips, tags, sizes, colours, active) VALUES"
    " (1, 'KR-T-1', 'Т', '', 'футболки', 10, '', '', '{}', '{S}', '{білий}', true)",
    "INSERT INTO product_variants (id, product_id, size, colour, stock)"
    " VALUES (1, 1, 'S', 'білий', 2)",
    *(
        f"INSERT INTO orders (id, chat_id, status, total) VALUES ({n}, {n}, '{status}', 10)"
        for n, status in ((1, "draft"), (2, "paid"), (3, "shipped"), (4, "cancelled"))
    ),
    *(
        f"INSERT INTO order_lines (order_id, variant_id, sku, name, size, colour, qty, unit_price)"
        f" VALUES ({n}, 1, 'KR-T-1', 'Т', 'S', 'білий', {qty}, 10)"
        for n, qty in ((1, 1), (2, 1), (3, 1), (4, 4))
    ),
)
