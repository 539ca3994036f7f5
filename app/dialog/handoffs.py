"""Hand-offs: opened by the conversation, taken by a manager's reply, closed by /bot.

The live hand-off (open or taken) of a chat is read from here on every customer turn: it alone
decides that the bot stays quiet and relays, so a lost session never gives a chat back to the
bot, and a manager's /bot (from the manager chat's queue) cannot be undone by a customer turn
running at the same time. An open hand-off that no manager answered within `repost_after` is
posted to the manager chat again (by whichever replica gets to it first: `FOR UPDATE SKIP
LOCKED`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from app.dialog.models import CLOSED, OPEN, TAKEN, Handoff

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass(frozen=True)
class Live:
    """A chat's hand-off that is not closed yet."""

    level: str
    reason: str
    status: str
    """open (waiting for a manager) or taken (a manager answered)."""
    taken_by: str | None


@dataclass(frozen=True)
class Waiting:
    """A live hand-off as the admin panel lists it."""

    chat_id: int
    level: str
    reason: str
    summary: str
    status: str
    taken_by: str | None
    created_at: datetime


@dataclass(frozen=True)
class Due:
    chat_id: int
    level: str
    reason: str
    summary: str
    minutes: int
    """How long it has waited."""


class Handoffs:
    """The hand-offs table; every method is one transaction."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def open(self, chat_id: int, level: str, reason: str, summary: str) -> bool:
        """Record a hand-off; False if the chat already has a live one."""
        async with self._session_factory() as session, session.begin():
            statement = (
                insert(Handoff)
                .values(
                    chat_id=chat_id,
                    level=level,
                    reason=reason,
                    summary=summary,
                    status=OPEN,
                    reposts=0,
                )
                .on_conflict_do_nothing(
                    index_elements=["chat_id"], index_where=Handoff.status != CLOSED
                )
                .returning(Handoff.id)
            )
            return (await session.execute(statement)).first() is not None

    async def live(self, chat_id: int) -> Live | None:
        """The chat's hand-off that is open or taken, if any."""
        async with self._session_factory() as session:
            row = (
                await session.execute(
                    select(Handoff.level, Handoff.reason, Handoff.status, Handoff.taken_by).where(
                        Handoff.chat_id == chat_id, Handoff.status != CLOSED
                    )
                )
            ).first()
        return None if row is None else Live(row.level, row.reason, row.status, row.taken_by)

    async def taken(self, chat_id: int, by: str) -> None:
        """A manager (`by`, e.g. manager:<id>) answered: the hand-off is no longer reposted."""
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(Handoff)
                .where(Handoff.chat_id == chat_id, Handoff.status == OPEN)
                .values(status=TAKEN, taken_at=func.now(), taken_by=by)
            )

    async def close(self, chat_id: int, by: str) -> bool:
        """The bot answers the chat again; False if it had no live hand-off."""
        async with self._session_factory() as session, session.begin():
            closed = await session.execute(
                update(Handoff)
                .where(Handoff.chat_id == chat_id, Handoff.status != CLOSED)
                .values(status=CLOSED, closed_at=func.now(), closed_by=by)
                .returning(Handoff.id)
            )
            return closed.first() is not None

    async def due(self, repost_after: timedelta) -> list[Due]:
        """Open hand-offs not posted for `repost_after`; marks them posted now."""
        async with self._session_factory() as session, session.begin():
            rows = (
                await session.scalars(
                    select(Handoff)
                    .where(Handoff.status == OPEN, Handoff.posted_at < func.now() - repost_after)
                    .order_by(Handoff.posted_at)
                    .limit(50)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            now = await session.scalar(select(func.now()))
            assert now is not None
            due = [
                Due(
                    h.chat_id,
                    h.level,
                    h.reason,
                    h.summary,
                    int((now - h.created_at).total_seconds() // 60),
                )
                for h in rows
            ]
            for handoff in rows:
                handoff.posted_at = now
                handoff.reposts += 1
        return due

    async def waiting(self, *, chat_id: int | None = None, limit: int = 200) -> list[Waiting]:
        """Live hand-offs (of `chat_id` only, when given): open ones first, oldest first."""
        conditions = [Handoff.status != CLOSED]
        if chat_id is not None:
            conditions.append(Handoff.chat_id == chat_id)
        async with self._session_factory() as session:
            rows = await session.scalars(
                select(Handoff)
                .where(*conditions)
                .order_by((Handoff.status == OPEN).desc(), Handoff.created_at)
                .limit(limit)
            )
            return [
                Waiting(h.chat_id, h.level, h.reason, h.summary, h.status, h.taken_by, h.created_at)
                for h in rows
            ]
