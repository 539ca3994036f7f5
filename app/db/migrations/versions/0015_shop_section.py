"""The shop section: delivery, payment, returns, size charts, contacts and hours.

One row (`id = 1`) with the validated section as JSONB. Writes bump the catalog version through
the catalog's own trigger function (a "stock"-kind change, which the index sync ignores), so
every process reads the section again after an import or an admin edit.

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
# merge2 landing order (i17, i15, i12): after 0013; re-chained by the lead at merge
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shop_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("updated_by", sa.String(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_shop_section_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shop_section")),
    )
    op.execute(
        "CREATE TRIGGER shop_section_bump_catalog_version AFTER INSERT OR UPDATE OR DELETE "
        "ON shop_section FOR EACH STATEMENT EXECUTE FUNCTION kramar_bump_catalog_version()"
    )


def downgrade() -> None:
    op.drop_table("shop_section")
