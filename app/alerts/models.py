"""What the alert forwarder remembers: messages delivered, and what each silence button mutes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class AlertDelivery(Base):
    """One alert message to one chat, keyed by what makes it the same message.

    `pieces_sent` counts the parts Telegram accepted, so a retry after a partial failure sends
    only the rest, and a redelivery (to this or another replica) sends nothing.
    """

    __tablename__ = "alert_deliveries"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    """sha256 of (chat, groupKey, status, alerts as (fingerprint, startsAt, status))."""
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    group_key: Mapped[str] = mapped_column(Text, nullable=False)
    status: Mapped[str] = mapped_column(String(8), nullable=False)
    pieces_total: Mapped[int] = mapped_column(Integer, nullable=False)
    pieces_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    button_id: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), index=True
    )


class SilenceButton(Base):
    """The matchers behind one row of silence buttons (callback data holds only the id)."""

    __tablename__ = "alert_silence_buttons"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    matchers: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now(), index=True
    )
