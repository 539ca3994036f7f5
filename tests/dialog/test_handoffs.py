"""Hand-offs in Postgres: one live per chat, taken, closed, and reposted when nobody answers."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.dialog.handoffs import Handoffs, Live
from app.dialog.models import Handoff


async def test_an_unanswered_handoff_comes_due_again_until_a_manager_answers(session_factory):
    handoffs = Handoffs(session_factory)
    assert await handoffs.open(7, "L1", "asked", "🆘 …") is True
    assert await handoffs.open(7, "L2", "complaint", "again") is False  # already with managers
    assert await handoffs.due(timedelta(minutes=10)) == []
    [due] = await handoffs.due(timedelta(0))
    assert (due.chat_id, due.level, due.summary) == (7, "L1", "🆘 …")
    await handoffs.taken(7, by="manager:77")
    assert await handoffs.due(timedelta(0)) == []


async def test_a_closed_handoff_lets_the_chat_be_handed_off_again(session_factory):
    handoffs = Handoffs(session_factory)
    await handoffs.open(7, "L1", "asked", "first")
    await handoffs.close(7, by="manager:77")
    assert await handoffs.open(7, "L2", "payment", "second") is True
    [due] = await handoffs.due(timedelta(0))
    assert due.reason == "payment"


async def test_live_shows_who_took_the_chat_until_it_is_closed(session_factory):
    handoffs = Handoffs(session_factory)
    assert await handoffs.live(7) is None
    await handoffs.open(7, "L2", "complaint", "…")
    assert await handoffs.live(7) == Live("L2", "complaint", "open", None)
    await handoffs.taken(7, by="manager:77")
    assert await handoffs.live(7) == Live("L2", "complaint", "taken", "manager:77")
    assert await handoffs.close(7, by="manager:78") is True
    assert await handoffs.live(7) is None
    assert await handoffs.close(7, by="manager:78") is False  # nothing left to close
    async with session_factory() as session:
        row = (await session.scalars(select(Handoff))).one()
    assert (row.taken_by, row.closed_by) == ("manager:77", "manager:78")
    assert row.taken_at is not None and row.closed_at is not None
