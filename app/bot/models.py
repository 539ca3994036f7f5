"""The durable inbox: every Telegram update, stored before it is acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
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
    lease_token: Mapped[str | None] = mapped_column(UUID(as_uuid=False))
    """A fresh token per claim: finishing, failing, renewing or releasing needs it (fencing)."""
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    trace_context: Mapped[dict[str, str] | None] = mapped_column(JSONB)
    """W3C trace context of the webhook request that stored it (when tracing is on)."""
    replies_sent: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    """Telegram messages this update's turn has sent so far: a turn taken again after a
    crash skips that many (`app.bot.delivered`)."""

    __table_args__ = (
        # The worker's claim query scans pending rows only, per chat, oldest first.
        Index(
            "ix_telegram_inbox_pending",
            "chat_key",
            "update_id",
            postgresql_where=text("status = 'pending'"),
        ),
        # Retention deletes finished rows by age.
        Index(
            "ix_telegram_inbox_finished",
            "status",
            "processed_at",
            postgresql_where=text("status <> 'pending'"),
        ),
        # The admin overview counts each day's customer chats (migration 0013).
        Index("ix_telegram_inbox_received_at", "received_at"),
    )


class RejectedUpdate(Base):
    """An update the webhook answered 200 but could never process (a permanent fault of its own).

    Telegram would retry anything but a 2xx for a day; these cannot succeed however often they
    come, so they are acknowledged and kept here, with the reason, for a person to read.
    """

    __tablename__ = "telegram_rejected"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    update_id: Mapped[str | None] = mapped_column(String(64))
    """As text: the reason may be that it does not fit a BIGINT."""
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    """The request body as received (cut at 64 KiB, NUL characters removed)."""
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )

    __table_args__ = (Index("ix_telegram_rejected_received_at", "received_at"),)


class WebhookRegistration(Base):
    """What this bot's webhook was last registered with, as a keyed hash.

    Telegram reports the URL of a webhook but never its secret, so a changed secret is noticed
    here: the HMAC (keyed with the bot token) of URL, secret and update types differs.
    """

    __tablename__ = "telegram_webhook"

    bot_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
