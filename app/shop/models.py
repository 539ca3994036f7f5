"""The shop section's table: one row holding the validated section as JSON.

One document rather than a table per part (delivery options, size charts, ...): the section is
read whole on every shop answer and written whole by an import or the admin panel, and its
shape is checked by `app.shop.schemas.Shop` on the way in. A write bumps the catalog version
(the catalog's trigger), so processes holding the section in memory read it again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Integer, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class ShopSection(Base):
    __tablename__ = "shop_section"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )
    updated_by: Mapped[str] = mapped_column(nullable=False, default="import")
    """Who wrote it last: import, operator, admin:<user>."""
