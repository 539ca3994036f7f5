"""The overview's figures, from Postgres and the cost ledger (never from one process's
metrics: several replicas serve the shop). Days are UTC days, as the model budget's are."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Date, cast, distinct, func, literal_column, select

from app.activity.counts import utc_day
from app.activity.vision import PHOTO_PREFIX
from app.bot.models import InboxUpdate
from app.dialog.models import Handoff
from app.llm.costs import total_usd
from app.orders.models import Order, OrderEvent
from app.orders.status import OrderStatus

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
    from sqlalchemy.orm import InstrumentedAttribute

    from app.activity.counts import DailyCounts
    from app.llm.costs import CostLedger

CHART_DAYS = 14


@dataclass(frozen=True)
class Day:
    day: date
    conversations: int = 0
    """Customer chats (private chats) that wrote to the bot that day."""
    orders: int = 0
    """Orders the customers confirmed that day (reached `new`), cancelled ones included."""
    revenue: Decimal = Decimal(0)
    """Total of that day's orders that are not cancelled, UAH."""
    handoffs: int = 0
    photos: dict[str, int] = field(default_factory=dict)
    """Customer photos by the path that answered (cache, photo_index, model, none, ...)."""

    @property
    def escalation_rate(self) -> float | None:
        """Hand-offs per conversation; None on a day without conversations."""
        return None if not self.conversations else self.handoffs / self.conversations


@dataclass(frozen=True)
class Figures:
    days: list[Day]
    """Oldest first; the last is today."""
    spend_usd: float
    budget_usd: float | None

    @property
    def today(self) -> Day:
        return self.days[-1]


def _day(column: ColumnElement[datetime] | InstrumentedAttribute[datetime]) -> ColumnElement[date]:
    # A literal, not a parameter: GROUP BY must see the same expression as the SELECT list.
    return cast(func.timezone(literal_column("'UTC'"), column), Date)


class Overview:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        counts: DailyCounts,
        ledger: CostLedger,
        budget_usd: float | None,
    ) -> None:
        self._session_factory = session_factory
        self._counts = counts
        self._ledger = ledger
        self._budget = budget_usd

    async def figures(self, *, days: int = CHART_DAYS, today: date | None = None) -> Figures:
        end = today or utc_day()
        first = end - timedelta(days=days - 1)
        since = datetime.combine(first, time(), tzinfo=UTC)
        async with self._session_factory() as session:
            chats: dict[date, int] = {
                day: count
                for day, count in await session.execute(
                    select(
                        _day(InboxUpdate.received_at),
                        func.count(distinct(InboxUpdate.chat_key)),
                    )
                    .where(InboxUpdate.received_at >= since, InboxUpdate.chat_key > 0)
                    .group_by(_day(InboxUpdate.received_at))
                )
            }
            handoffs: dict[date, int] = {
                day: count
                for day, count in await session.execute(
                    select(_day(Handoff.created_at), func.count(Handoff.id))
                    .where(Handoff.created_at >= since)
                    .group_by(_day(Handoff.created_at))
                )
            }
            placed = (
                select(OrderEvent.order_id, func.min(OrderEvent.at).label("at"))
                .where(OrderEvent.to_status == OrderStatus.NEW, OrderEvent.at >= since)
                .group_by(OrderEvent.order_id)
                .subquery()
            )
            kept = func.coalesce(
                func.sum(Order.total).filter(Order.status != OrderStatus.CANCELLED), 0
            )
            orders = {
                day: (count, Decimal(revenue))
                for day, count, revenue in await session.execute(
                    select(_day(placed.c.at), func.count(Order.id), kept)
                    .join(Order, Order.id == placed.c.order_id)
                    .group_by(_day(placed.c.at))
                )
            }
        photos = await self._counts.by_day(PHOTO_PREFIX, days, today=end)
        series = []
        for back in range(days - 1, -1, -1):
            day = end - timedelta(days=back)
            count, revenue = orders.get(day, (0, Decimal(0)))
            series.append(
                Day(
                    day,
                    conversations=chats.get(day, 0),
                    orders=count,
                    revenue=revenue,
                    handoffs=handoffs.get(day, 0),
                    photos=photos.get(day, {}),
                )
            )
        spend = await total_usd(self._ledger, end)
        return Figures(series, spend, self._budget)
