"""The manager notice outbox: one row per message for the managers' chat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, Text, func
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ManagerNotice(Base):
    """A message for `KRAMAR_MANAGER_CHAT_ID`, written in the transaction of what it reports.

    Whoever makes the change (a CLI import, an API replica with no bot) only inserts the row; a
    process that runs the bot sends it and sets `sent_at`.
    """

    __tablename__ = "manager_notices"
    __table_args__ = (
        # The sender's scan: only unsent notices, the due ones first.
        Index(
            "ix_manager_notices_pending",
            "next_attempt_at",
            postgresql_where=sql("sent_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    # A failed send is tried again from then on (exponential back-off).
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=sql("0"))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
