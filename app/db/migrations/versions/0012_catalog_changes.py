"""Catalog NOTIFY names what changed; the record of imported catalog sources (the operator).

The catalog triggers now send `{"v": <version>, "kind": ..., "skus": [...]}` on `kramar_catalog`:
`kind` is "content" for products rows (the text the RAG index embeds), "stock" for variants and
for any other table that calls the function (orders, reservations), "photos" for photos; `skus`
are the products the statement touched, or null when listing them would pass the 8,000-byte
NOTIFY limit ("many: reconcile"). Statement-level triggers with transition tables: one bump and
one NOTIFY per statement, as before. Postgres allows transition tables only on single-event
triggers, so each table gets one trigger per event.

`catalog_sources` records, per catalog source (a ConfigMap), the hash of the content last
imported, so an operator restart or a resumed watch imports nothing that was imported before,
and a database restored from an older backup is brought up to date again.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# Re-chained at merge: after 0010 (inbox transport).
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CATALOG_TABLES = ("products", "product_variants", "product_photos")
EVENTS = ("insert", "update", "delete")
# 8,000 bytes is Postgres' NOTIFY payload limit; a little under it leaves room for the rest.
MAX_PAYLOAD = 7900

# Works from any table's statement-level trigger: tables it does not know send a "stock" change
# with no SKUs (the stock part's triggers on orders and order lines call it too).
BUMP_FUNCTION = f"""
CREATE OR REPLACE FUNCTION kramar_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_version bigint;
    change_kind text := 'stock';
    skus text[];
    payload text;
BEGIN
    UPDATE catalog_state SET version = version + 1, updated_at = now()
        WHERE id = 1 RETURNING version INTO new_version;
    IF TG_TABLE_NAME = 'products' THEN
        change_kind := 'content';
        -- SKUs are unique: no DISTINCT (a sort per statement) where one table is read.
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(sku) INTO skus FROM kramar_new;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(sku) INTO skus FROM kramar_old;
        ELSE  -- a renamed SKU is both a new and a gone product
            SELECT array_agg(sku) INTO skus
                FROM (SELECT sku FROM kramar_new UNION SELECT sku FROM kramar_old) AS touched;
        END IF;
    ELSIF TG_TABLE_NAME IN ('product_variants', 'product_photos') THEN
        IF TG_TABLE_NAME = 'product_photos' THEN
            change_kind := 'photos';
        END IF;
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(p.sku) INTO skus FROM products AS p
                WHERE p.id IN (SELECT product_id FROM kramar_new);
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(p.sku) INTO skus FROM products AS p
                WHERE p.id IN (SELECT product_id FROM kramar_old);
        ELSE
            SELECT array_agg(p.sku) INTO skus FROM products AS p
                WHERE p.id IN (SELECT product_id FROM kramar_new
                               UNION ALL SELECT product_id FROM kramar_old);
        END IF;
    END IF;
    payload := json_build_object(
        'v', new_version, 'kind', change_kind, 'skus', coalesce(skus, '{{}}'::text[]))::text;
    IF octet_length(payload) > {MAX_PAYLOAD} THEN
        payload := json_build_object('v', new_version, 'kind', change_kind, 'skus', NULL)::text;
    END IF;
    PERFORM pg_notify('kramar_catalog', payload);
    RETURN NULL;
END;
$$
"""

OLD_FUNCTION = """
CREATE OR REPLACE FUNCTION kramar_bump_catalog_version() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    new_version bigint;
BEGIN
    UPDATE catalog_state SET version = version + 1, updated_at = now()
        WHERE id = 1 RETURNING version INTO new_version;
    PERFORM pg_notify('kramar_catalog', new_version::text);
    RETURN NULL;
END;
$$
"""


def _referencing(event: str) -> str:
    if event == "insert":
        return "REFERENCING NEW TABLE AS kramar_new"
    if event == "delete":
        return "REFERENCING OLD TABLE AS kramar_old"
    return "REFERENCING OLD TABLE AS kramar_old NEW TABLE AS kramar_new"


def upgrade() -> None:
    op.execute(BUMP_FUNCTION)
    for table in CATALOG_TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_catalog_version ON {table}")
        for event in EVENTS:
            op.execute(
                f"CREATE TRIGGER {table}_bump_catalog_version_{event} AFTER {event.upper()} "
                f"ON {table} {_referencing(event)} FOR EACH STATEMENT "
                "EXECUTE FUNCTION kramar_bump_catalog_version()"
            )
    op.create_table(
        "catalog_sources",
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column(
            "synced_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_catalog_sources")),
    )


def downgrade() -> None:
    op.drop_table("catalog_sources")
    for table in CATALOG_TABLES:
        for event in EVENTS:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_catalog_version_{event} ON {table}")
        op.execute(
            f"CREATE TRIGGER {table}_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION kramar_bump_catalog_version()"
        )
    op.execute(OLD_FUNCTION)
