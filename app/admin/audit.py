"""The audit log: every change made through the panel, and every sign-in, with who, what,
the values before and after, when and from which address."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from app.admin.models import AuditEntry

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.admin.users import Principal

logger = logging.getLogger(__name__)


def jsonable(value: Any) -> Any:
    """`value` with decimals, dates and enums as strings, so JSONB keeps them exactly."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [jsonable(v) for v in value]
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    address: str | None


class AuditLog:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def record(
        self,
        who: Principal | str,
        action: str,
        target: str,
        *,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        address: str | None = None,
    ) -> None:
        """Write one entry. The change it describes is already committed by its service, so
        a failure here is logged (with the entry) rather than undoing what the person did."""
        user_id = None if isinstance(who, str) else who.id
        actor = who if isinstance(who, str) else who.username
        entry = AuditEntry(
            user_id=user_id,
            actor=actor[:64],
            action=action,
            target=target[:200],
            before=None if before is None else jsonable(before),
            after=None if after is None else jsonable(after),
            address=None if address is None else address[:64],
        )
        try:
            async with self._session_factory() as session, session.begin():
                session.add(entry)
        except Exception:
            logger.exception("audit entry not written: %s %s %s", actor, action, target)

    async def page(
        self, *, limit: int = 50, offset: int = 0, action: str | None = None
    ) -> tuple[list[Entry], int]:
        """Entries, newest first, and how many there are (of `action`'s family when given,
        e.g. "product" matches product.update and product.create)."""
        conditions = []
        if action:
            conditions.append(
                (AuditEntry.action == action)
                | AuditEntry.action.startswith(action + ".", autoescape=True)
            )
        async with self._session_factory() as session:
            total = await session.scalar(select(func.count(AuditEntry.id)).where(*conditions))
            rows = await session.scalars(
                select(AuditEntry)
                .where(*conditions)
                .order_by(AuditEntry.id.desc())
                .limit(limit)
                .offset(offset)
            )
            entries = [
                Entry(r.id, r.at, r.actor, r.action, r.target, r.before, r.after, r.address)
                for r in rows
            ]
        return entries, total or 0
