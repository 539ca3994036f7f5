"""Hand-offs in Postgres: one live per chat, taken, closed, and reposted when nobody answers."""

from __future__ import annotations

from datetime import timedelta

from app.dialog.handoffs import Handoffs


async def test_an_unanswered_handoff_comes_due_again_until_a_manager_answers(session_factory):
    handoffs = Handoffs(session_factory)
    assert await handoffs.open(7, "L1", "asked", "🆘 …") is True
    assert await handoffs.open(7, "L2", "complaint", "again") is False  # already with managers
    assert await handoffs.due(timedelta(minutes=10)) == []
    [due] = await handoffs.due(timedelta(0))
    assert (due.chat_id, due.level, due.summary) == (7, "L1", "🆘 …")
    await handoffs.taken(7)
    assert await handoffs.due(timedelta(0)) == []


async def test_a_closed_handoff_lets_the_chat_be_handed_off_again(session_factory):
    handoffs = Handoffs(session_factory)
    await handoffs.open(7, "L1", "asked", "first")
    await handoffs.close(7)
    assert await handoffs.open(7, "L2", "payment", "second") is True
    [due] = await handoffs.due(timedelta(0))
    assert due.reason == "payment"
