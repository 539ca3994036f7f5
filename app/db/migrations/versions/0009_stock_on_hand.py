"""Stock: on hand apart from reserved, the `variant_stock` view, and the manager notice outbox.

`product_variants.stock` held what was left after reservations: orders took pieces from it and
gave them back, while imports and the admin API overwrote it with a count from the shop. It
becomes `on_hand` (what the shop has; only the catalog, the admin API and shipments change it),
and reserved (the pieces on lines of open orders) is computed by the `variant_stock` view.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
# down_revision is re-chained by the lead at merge
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Spelled out, not imported from app.orders: a migration must keep meaning what it meant.
OPEN_STATUSES = "'draft', 'new', 'confirmed', 'paid'"
RESERVED = f"""
SELECT l.variant_id, SUM(l.qty)::integer AS reserved
FROM order_lines l JOIN orders o ON o.id = l.order_id
WHERE o.status IN ({OPEN_STATUSES})
GROUP BY l.variant_id
"""
# Reserved per variant comes from a correlated sub-select: a variant's row, or a product's few,
# then cost an index probe each, and a filter on `on_hand > 0` skips the probe entirely.
VIEW = f"""
CREATE VIEW variant_stock AS
SELECT v.id AS variant_id,
       v.product_id,
       v.on_hand,
       r.reserved,
       GREATEST(v.on_hand - r.reserved, 0) AS available
FROM product_variants v
CROSS JOIN LATERAL (
    SELECT COALESCE(SUM(l.qty), 0)::integer AS reserved
    FROM order_lines l JOIN orders o ON o.id = l.order_id
    WHERE l.variant_id = v.id AND o.status IN ({OPEN_STATUSES})
) r
"""
# Reservations now write order lines, not variants: these keep the catalog version (and so every
# cached card) moving whenever availability can change. The function is 0001's, unchanged.
TRIGGERS = (
    ("order_lines", "AFTER INSERT OR UPDATE OR DELETE"),
    ("orders", "AFTER UPDATE OF status"),
)


def upgrade() -> None:
    op.alter_column("product_variants", "stock", new_column_name="on_hand")
    op.execute(
        "ALTER TABLE product_variants RENAME CONSTRAINT ck_product_variants_stock_not_negative "
        "TO ck_product_variants_on_hand_not_negative"
    )
    # The old column was on hand minus open reservations: add those back. Lines of shipped and
    # done orders stay taken, which is what on hand means once goods have left.
    op.execute(
        f"UPDATE product_variants v SET on_hand = v.on_hand + r.reserved "
        f"FROM ({RESERVED}) r WHERE r.variant_id = v.id"
    )
    op.execute(VIEW)
    for table, when in TRIGGERS:
        op.execute(
            f"CREATE TRIGGER {table}_bump_catalog_version {when} ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION kramar_bump_catalog_version()"
        )

    op.create_table(
        "manager_notices",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column(
            "next_attempt_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_manager_notices")),
    )
    op.create_index(
        "ix_manager_notices_pending",
        "manager_notices",
        ["next_attempt_at"],
        postgresql_where=sa.text("sent_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_manager_notices_pending", table_name="manager_notices")
    op.drop_table("manager_notices")
    for table, _ in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_bump_catalog_version ON {table}")
    op.execute("DROP VIEW variant_stock")
    # Back to "what is left after reservations"; a variant short of its reservations is 0.
    op.execute(
        f"UPDATE product_variants v SET on_hand = GREATEST(v.on_hand - r.reserved, 0) "
        f"FROM ({RESERVED}) r WHERE r.variant_id = v.id"
    )
    op.execute(
        "ALTER TABLE product_variants RENAME CONSTRAINT ck_product_variants_on_hand_not_negative "
        "TO ck_product_variants_stock_not_negative"
    )
    op.alter_column("product_variants", "on_hand", new_column_name="stock")
