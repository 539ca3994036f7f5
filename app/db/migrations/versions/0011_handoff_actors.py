"""Hand-offs: who took the chat and who gave it back.

Revision ID: 0011
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
# Re-chained at merge: after 0012 (catalog changes), which landed first.
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("handoffs", sa.Column("taken_by", sa.String(length=64), nullable=True))
    op.add_column("handoffs", sa.Column("closed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("handoffs", "closed_by")
    op.drop_column("handoffs", "taken_by")
