"""Tables of the web panel: accounts, server-side sessions, sign-in throttling, the audit log,
uploads waiting for their confirmation, and the panel's signing key."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base, TimestampMixin

OWNER = "owner"
MANAGER = "manager"
ROLES = (OWNER, MANAGER)


class AdminUser(TimestampMixin, Base):
    """A person who signs in to the panel. Passwords are stored only as argon2 hashes."""

    __tablename__ = "admin_users"
    __table_args__ = (CheckConstraint("role IN ('owner', 'manager')", name="known_role"),)
    __mapper_args__ = {"eager_defaults": True}

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    # Lower case, as typed at sign-in after folding (see `app.admin.users.normal_username`).
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(Text, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # Bumped by a password change, a role change or a deactivation: every session carries the
    # epoch it was made in, so all of the account's sessions end at once (Redis or Postgres).
    session_epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    last_signin_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdminSession(Base):
    """The Postgres session store (when there is no Redis): a Litestar `Store` row.

    `key` is the SHA-256 of the cookie's token, so the table never holds a usable session id.
    """

    __tablename__ = "admin_sessions"
    __table_args__ = (Index("ix_admin_sessions_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SignInThrottle(Base):
    """Failed sign-ins per account or per address within the current window."""

    __tablename__ = "admin_signin_throttle"

    # "account:<username>" or "address:<ip>"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AuditEntry(Base):
    """One change made through the panel (and each sign-in): who, what, before, after, when,
    from where."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("admin_users.id", ondelete="SET NULL"), index=True
    )
    # The username at the time (kept when the account is gone).
    actor: Mapped[str] = mapped_column(String(64), nullable=False)
    # e.g. product.update, stock.set, order.status, handoff.reply, auth.signin
    action: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    # e.g. KR-KS-001, KR-000123, chat 501, user anna
    target: Mapped[str] = mapped_column(String(200), nullable=False)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    address: Mapped[str | None] = mapped_column(String(64))


class PendingUpload(Base):
    """A catalog file shown as a dry run, kept until the manager applies it (or an hour)."""

    __tablename__ = "admin_uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("admin_users.id", ondelete="CASCADE"), nullable=False
    )
    filename: Mapped[str] = mapped_column(String(255), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # The uploaded photo files as one ZIP archive (stored, not compressed), names as uploaded.
    photos: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    prune: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # SHA-256 of the plan shown: applying re-plans, and a different plan is shown again first.
    plan_digest: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class PanelKey(Base):
    """Keys the panel generates for itself once, shared by every replica through the database."""

    __tablename__ = "admin_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text, nullable=False)
