"""The durable inbox: every Telegram update, stored before it is acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

PENDING = "pending"
DONE = "done"
DEAD = "dead"


class InboxUpdate(Base):
    """One update as Telegram sent it. `update_id` is unique, so a redelivery is a no-op.

    Updates of one chat are processed one at a time in `update_id` order; a lease
    (`locked_until`) lets another worker take over an update whose process died.
    """

    __tablename__ = "telegram_inbox"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    chat_key: Mapped[int] = mapped_column(BigInteger, nullable=False)
    """The chat id, or -update_id for updates without a chat (each is its own queue)."""
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    media_group_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False, default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    available_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    """Not taken before this: album parts wait for their siblings, failures back off."""
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    locked_by: Mapped[str | None] = mapped_column(String(120))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    """W3C trace context of the webhook request that stored it (when tracing is on)."""

    __table_args__ = (
        # The worker's claim query scans pending rows only, per chat, oldest first.
        Index(
            "ix_telegram_inbox_pending",
            "chat_key",
            "update_id",
            postgresql_where=text("status = 'pending'"),
        ),
    )
