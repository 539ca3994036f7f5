"""Alerts: delivered alert messages (dedupe) and the matchers behind silence buttons.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alert_deliveries",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("group_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("pieces_total", sa.Integer(), nullable=False),
        sa.Column("pieces_sent", sa.Integer(), nullable=False),
        sa.Column("button_id", sa.String(length=16), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_alert_deliveries")),
    )
    op.create_index(
        op.f("ix_alert_deliveries_created_at"), "alert_deliveries", ["created_at"], unique=False
    )
    op.create_table(
        "alert_silence_buttons",
        sa.Column("id", sa.String(length=16), nullable=False),
        sa.Column("matchers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_silence_buttons")),
    )
    op.create_index(
        op.f("ix_alert_silence_buttons_created_at"),
        "alert_silence_buttons",
        ["created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_alert_silence_buttons_created_at"), table_name="alert_silence_buttons")
    op.drop_table("alert_silence_buttons")
    op.drop_index(op.f("ix_alert_deliveries_created_at"), table_name="alert_deliveries")
    op.drop_table("alert_deliveries")
