"""Catalog tables.

Every write to products, variants or photos bumps `catalog_state.version` through statement-level
triggers (see the first migration), so caches and the RAG index can key on one number and no code
path can forget to bump it. Order lines and order status changes bump it too (migration 0009):
they change what is available.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base, TimestampMixin


class Product(TimestampMixin, Base):
    __tablename__ = "products"
    __table_args__ = (CheckConstraint("price >= 0", name="price_not_negative"),)
    # Fetch server-made timestamps with RETURNING: an expired attribute cannot lazy-load in async.
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    sku: Mapped[str] = mapped_column(String(32), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    category: Mapped[str] = mapped_column(String(80), nullable=False, index=True)
    # Exact UAH amount with kopecks; never a float.
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2), nullable=False)
    visual_features: Mapped[str] = mapped_column(Text, nullable=False, default="")
    recognition_tips: Mapped[str] = mapped_column(Text, nullable=False, default="")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, default=list)
    # The declared order of sizes and colours ("S, M, L"), which variants alone cannot keep.
    sizes: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, default=list)
    colours: Mapped[list[str]] = mapped_column(ARRAY(Text), nullable=False, default=list)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)

    variants: Mapped[list[Variant]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        order_by="Variant.id",
        lazy="selectin",
    )
    photos: Mapped[list[Photo]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        order_by="Photo.position",
        lazy="selectin",
    )


class Variant(Base):
    __tablename__ = "product_variants"
    __table_args__ = (
        UniqueConstraint("product_id", "size", "colour", name="uq_product_variants_size_colour"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True
    )
    size: Mapped[str] = mapped_column(String(60), nullable=False)
    colour: Mapped[str] = mapped_column(String(60), nullable=False)
    # Pieces the shop has, as the catalog file, the admin API or a shipment last set it. What a
    # customer can order is this minus the open orders' lines: see `app.catalog.stock`.
    on_hand: Mapped[int] = mapped_column(Integer, nullable=False, default=0)

    product: Mapped[Product] = relationship(back_populates="variants")


class Photo(Base):
    __tablename__ = "product_photos"
    __table_args__ = (
        UniqueConstraint("product_id", "position", name="uq_product_photos_position"),
        CheckConstraint("content IS NOT NULL OR source LIKE 'http%'", name="file_or_url"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True
    )
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    # As written in the catalog file: a path relative to it, or an http(s) URL.
    source: Mapped[str] = mapped_column(Text, nullable=False)
    # File photos live in the database, so every replica can serve them without shared volumes.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    content_type: Mapped[str | None] = mapped_column(String(40))
    sha256: Mapped[str | None] = mapped_column(String(64))
    # Perceptual hashes as signed 64-bit integers (Postgres has no unsigned bigint).
    phash: Mapped[int | None] = mapped_column(BigInteger)
    colorhash: Mapped[int | None] = mapped_column(BigInteger)
    # Local features for the second stage of identification (app/vision/features.py): ORB
    # keypoints and descriptors, their visual words, and what computed them. Deferred: only the
    # photo index reads them.
    features: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    feature_words: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    features_version: Mapped[str | None] = mapped_column(String(40))

    product: Mapped[Product] = relationship(back_populates="photos")


class CatalogState(Base):
    """One row: the catalog version, bumped by triggers on every catalog write."""

    __tablename__ = "catalog_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class PhotoIndexState(Base):
    """One row: a version bumped by triggers only when photos (or their products' SKU or
    `active`) change, so the photo index is not rebuilt for stock changes."""

    __tablename__ = "photo_index_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=1)
    version: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class CatalogSource(Base):
    """A catalog source outside the database (a ConfigMap) and the content last imported from it.

    The operator compares a source's hash with this row, not with its own annotations: the
    database is the truth, so a restored backup or a fresh database is imported into again.
    """

    __tablename__ = "catalog_sources"

    # e.g. configmap/shop/catalog
    source: Mapped[str] = mapped_column(String(300), primary_key=True)
    # sha256 (hex) of what was imported: the catalog file, the photos, the prune flag.
    content_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    synced_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
