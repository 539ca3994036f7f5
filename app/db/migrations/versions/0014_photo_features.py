"""Photo features: local features stored with each catalog photo, and a photo-only version.

`product_photos.features` holds a photo's ORB keypoints and descriptors (app/vision/features.py),
`feature_words` their visual words (app/vision/vocabulary.py), `features_version` what computed
them. `photo_index_state.version` moves only when photos or the products they identify change
(statement triggers on product_photos, and on products when `active` or `sku` is written), so a
replica rebuilds its photo index on those changes and not on every stock change or reservation,
which move `catalog_state.version` too.

Revision ID: 0014
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
# merge2 landing order (i17, i15, i12): after 0011; re-chained by the lead at merge
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUMP_FUNCTION = """
CREATE FUNCTION kramar_bump_photo_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE photo_index_state SET version = version + 1, updated_at = now() WHERE id = 1;
    RETURN NULL;
END;
$$
"""


def upgrade() -> None:
    op.add_column("product_photos", sa.Column("features", sa.LargeBinary(), nullable=True))
    op.add_column("product_photos", sa.Column("feature_words", sa.LargeBinary(), nullable=True))
    op.add_column(
        "product_photos", sa.Column("features_version", sa.String(length=40), nullable=True)
    )
    op.create_table(
        "photo_index_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("id = 1", name=op.f("ck_photo_index_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_photo_index_state")),
    )
    op.execute("INSERT INTO photo_index_state (id, version) VALUES (1, 0)")
    op.execute(BUMP_FUNCTION)
    op.execute(
        "CREATE TRIGGER product_photos_bump_photo_version AFTER INSERT OR UPDATE OR DELETE "
        "ON product_photos FOR EACH STATEMENT EXECUTE FUNCTION kramar_bump_photo_version()"
    )
    op.execute(
        "CREATE TRIGGER products_bump_photo_version AFTER UPDATE OF active, sku OR DELETE "
        "ON products FOR EACH STATEMENT EXECUTE FUNCTION kramar_bump_photo_version()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS products_bump_photo_version ON products")
    op.execute("DROP TRIGGER IF EXISTS product_photos_bump_photo_version ON product_photos")
    op.execute("DROP FUNCTION IF EXISTS kramar_bump_photo_version()")
    op.drop_table("photo_index_state")
    op.drop_column("product_photos", "features_version")
    op.drop_column("product_photos", "feature_words")
    op.drop_column("product_photos", "features")
