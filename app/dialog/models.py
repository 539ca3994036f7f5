"""Hand-offs to a person, kept in Postgres so none is forgotten across restarts and replicas."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

OPEN = "open"
TAKEN = "taken"
CLOSED = "closed"


class Handoff(Base):
    """A chat handed to the managers: open until a manager answers, closed when the bot is back.

    The live row (open or taken) is the truth of whether the bot answers the chat; the session
    cache holds no copy of it."""

    __tablename__ = "handoffs"
    __table_args__ = (
        # One live hand-off per chat: asking again while waiting does not page twice.
        Index(
            "uq_handoffs_live_chat",
            "chat_id",
            unique=True,
            postgresql_where=text("status <> 'closed'"),
        ),
        Index("ix_handoffs_open_posted", "posted_at", postgresql_where=text("status = 'open'")),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    level: Mapped[str] = mapped_column(String(4), nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    """The message the managers got (context, last turns)."""
    status: Mapped[str] = mapped_column(String(8), nullable=False, default=OPEN)
    reposts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    posted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), nullable=False, server_default=func.now()
    )
    taken_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    taken_by: Mapped[str | None] = mapped_column(String(64))
    """Who answered first, e.g. manager:<telegram user id>."""
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    """Who gave the chat back, e.g. manager:<id>, or system:no-manager-chat."""
