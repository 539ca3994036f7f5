"""Counting things per UTC day in Postgres: an upsert per event, read back as series.

Prometheus counters are per process and reset on restart; the panel's overview needs the
shop's figures whatever replica served them, so the few events it shows are counted here too.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.activity.models import DailyCount

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)


def utc_day(moment: datetime | None = None) -> date:
    return (moment or datetime.now(UTC)).astimezone(UTC).date()


class DailyCounts:
    """`add(name)` one event today; `by_day(prefix, days)` the counts of the last days."""

    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def add(self, name: str, *, day: date | None = None) -> None:
        """Count one `name` on `day` (today, UTC); never raises: a figure is not worth a turn."""
        statement = insert(DailyCount).values(day=day or utc_day(), name=name[:64], count=1)
        statement = statement.on_conflict_do_update(
            index_elements=[DailyCount.day, DailyCount.name],
            set_={"count": DailyCount.count + 1},
        )
        try:
            async with self._session_factory() as session, session.begin():
                await session.execute(statement)
        except Exception:
            logger.warning("daily count %s not recorded", name, exc_info=True)

    async def by_day(
        self, prefix: str, days: int, *, today: date | None = None
    ) -> dict[date, dict[str, int]]:
        """{day: {name without prefix: count}} for names starting with `prefix`, the last
        `days` UTC days up to `today`; days without events are absent."""
        end = today or utc_day()
        start = end - timedelta(days=days - 1)
        async with self._session_factory() as session:
            rows = await session.execute(
                select(DailyCount.day, DailyCount.name, DailyCount.count).where(
                    DailyCount.day.between(start, end),
                    DailyCount.name.startswith(prefix, autoescape=True),
                )
            )
            found: dict[date, dict[str, int]] = {}
            for day, name, count in rows:
                found.setdefault(day, {})[name.removeprefix(prefix)] = count
        return found
