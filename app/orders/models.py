"""Order tables: orders, their lines (prices frozen at order time) and the status history."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, TimestampMixin
from app.orders.status import DeliveryMethod, OrderStatus, sql_list

NUMBER_PREFIX = "KR-"


def order_number(order_id: int) -> str:
    """The number customers and managers quote ("KR-000123"): the id, so it needs no sequence."""
    return f"{NUMBER_PREFIX}{order_id:06d}"


class Order(TimestampMixin, Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_list(OrderStatus)})", name="known_status"),
        CheckConstraint(
            f"delivery_method IS NULL OR delivery_method IN ({sql_list(DeliveryMethod)})",
            name="known_delivery_method",
        ),
        CheckConstraint("total >= 0", name="total_not_negative"),
        # One checkout per chat: two quick taps (or two replicas) cannot open two drafts.
        Index(
            "uq_orders_one_draft_per_chat",
            "chat_id",
            unique=True,
            postgresql_where=text("status = 'draft'"),
        ),
        # The expiry job's scan: only drafts, oldest reservation first.
        Index(
            "ix_orders_draft_expiry", "reserved_until", postgresql_where=text("status = 'draft'")
        ),
        Index("ix_orders_status_id", "status", "id"),
    )
    # Fetch server-made timestamps with RETURNING: an expired attribute cannot lazy-load in async.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default=OrderStatus.DRAFT)
    customer_name: Mapped[str | None] = mapped_column(String(200))
    # Normalised to +380XXXXXXXXX by `app.orders.phone.normalize_phone`.
    phone: Mapped[str | None] = mapped_column(String(16))
    delivery_method: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(120))
    # Nova Poshta branch or parcel locker, as the customer wrote it ("Відділення №12").
    branch: Mapped[str | None] = mapped_column(String(200))
    # Street address for courier delivery.
    address: Mapped[str | None] = mapped_column(String(300))
    # Exact UAH amount with kopecks: the sum of the lines at the prices of the order time.
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False, default=Decimal(0))
    # "tg:<update_id>" of the update that opened the order: a redelivered update finds it.
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    # Drafts only: when the expiry job may cancel the draft, releasing its reservation.
    reserved_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderLine.id",
        lazy="selectin",
    )
    events: Mapped[list[OrderEvent]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        order_by="OrderEvent.id",
        lazy="selectin",
    )

    @property
    def number(self) -> str:
        return order_number(self.id)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("qty > 0", name="qty_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The reserved variant; NULL once the catalog deletes it (the line keeps its own copy).
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("product_variants.id", ondelete="SET NULL"), index=True
    )
    # Copies taken at order time: later catalog edits must not rewrite what was sold.
    sku: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    size: Mapped[str] = mapped_column(String(60), nullable=False)
    colour: Mapped[str] = mapped_column(String(60), nullable=False)
    qty: Mapped[int] = mapped_column(Integer, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)

    order: Mapped[Order] = relationship(back_populates="lines")


class OrderEvent(Base):
    """One status change (or a draft's change of item): who did it, from what, to what, when."""

    __tablename__ = "order_events"
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    order_id: Mapped[int] = mapped_column(
        ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # NULL for the event that created the order.
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16), nullable=False)
    # "customer:<chat id>", "manager:<telegram user id>", "admin-api" or "system:expiry".
    actor: Mapped[str] = mapped_column(String(80), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    # "tg:<update_id>" of the update that asked for this change: a redelivery repeats nothing.
    idempotency_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

    order: Mapped[Order] = relationship(back_populates="events")
