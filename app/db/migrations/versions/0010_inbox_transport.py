"""Telegram transport: fenced inbox leases, rejected updates, the registered webhook.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
# Re-chained at merge: after 0009 (stock on hand).
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "telegram_inbox", sa.Column("lease_token", postgresql.UUID(as_uuid=False), nullable=True)
    )
    # Retention deletes processed and dead rows by age: one index for both.
    op.create_index(
        "ix_telegram_inbox_finished",
        "telegram_inbox",
        ["status", "processed_at"],
        unique=False,
        postgresql_where=sa.text("status <> 'pending'"),
    )
    op.create_table(
        "telegram_rejected",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("update_id", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_rejected")),
    )
    op.create_index(
        "ix_telegram_rejected_received_at", "telegram_rejected", ["received_at"], unique=False
    )
    op.create_table(
        "telegram_webhook",
        sa.Column("bot_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("bot_id", name=op.f("pk_telegram_webhook")),
    )
    # Rows set aside before this revision have no processed_at: retention counts from arrival.
    op.execute(
        "UPDATE telegram_inbox SET processed_at = received_at"
        " WHERE status = 'dead' AND processed_at IS NULL"
    )


def downgrade() -> None:
    op.drop_table("telegram_webhook")
    op.drop_index("ix_telegram_rejected_received_at", table_name="telegram_rejected")
    op.drop_table("telegram_rejected")
    op.drop_index("ix_telegram_inbox_finished", table_name="telegram_inbox")
    op.drop_column("telegram_inbox", "lease_token")
