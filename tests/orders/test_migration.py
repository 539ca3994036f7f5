from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

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
