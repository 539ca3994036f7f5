"""Per-day counters: one row per UTC day and name, incremented in place."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class DailyCount(Base):
    """How many times `name` happened on `day` (UTC), e.g. `photo:photo_index`."""

    __tablename__ = "daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
