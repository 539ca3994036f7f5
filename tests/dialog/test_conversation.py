"""The conversation itself: facts from Postgres on every turn, hand-offs opened and closed,
the session holding only context (real Postgres, demo catalog, offline agent)."""

from __future__ import annotations

import asyncio

from pydantic import SecretStr
from sqlalchemy import select, text

from app.cache.session import SessionCache, session_key
from app.config import DialogSettings, RedisSettings
from app.dialog.models import Handoff
from app.dialog.texts import BACK_TO_BOT, GREETING, WITH_MANAGER
from tests.dialog.conftest import Shopper, data, for_managers, seen, shop


async def handoff_rows(services):
    async with services.db.session_factory() as session:
        return list(await session.scalars(select(Handoff).order_by(Handoff.id)))


async def test_a_handoff_is_recorded_taken_and_closed_in_postgres(services):
    olena = Shopper(services.conversation, 701)
    await olena.says("шукаю костюм Мрія лайт")
    asked = await olena.says("покличте менеджера")
    assert "Передаю розмову менеджеру" in seen(asked)
    [notice] = for_managers(asked)
    assert notice.about_chat == 701 and "(L1, asked)" in notice.text
    [row] = await handoff_rows(services)
    assert (row.level, row.reason, row.status, row.summary) == ("L1", "asked", "open", notice.text)

    # While a person has the chat, the bot relays and says nothing itself.
    relayed = await olena.says("алло?")
    assert seen(relayed) == "" and for_managers(relayed)[0].text == "Клієнт: алло?"
    assert seen(await olena.presses("o:KR-KS-002")) == WITH_MANAGER
    await services.conversation.from_manager(701, "Вітаю, я Ірина", by="manager:77")
    [row] = await handoff_rows(services)
    assert (row.status, row.taken_by) == ("taken", "manager:77")

    assert [r.text for r in await services.conversation.back_to_bot(701, by="manager:77")] == [
        BACK_TO_BOT
    ]
    [row] = await handoff_rows(services)
    assert (row.status, row.closed_by) == ("closed", "manager:77")
    assert "1 650 грн" in seen(await olena.says("скільки коштує KR-KS-002"))
    assert await services.conversation.back_to_bot(701, by="manager:77") == []


async def test_asking_again_while_waiting_does_not_page_the_managers_twice(services):
    olena = Shopper(services.conversation, 702)
    await olena.says("менеджер")
    again = await olena.presses("h")
    assert seen(again) == WITH_MANAGER and for_managers(again) == []
    assert len(await handoff_rows(services)) == 1


async def test_a_lost_session_keeps_the_chat_with_the_manager(services):
    olena = Shopper(services.conversation, 703)
    await olena.says("хочу поговорити з людиною")
    await services.backend.delete(session_key(703))  # TTL ran out, or Redis was flushed
    replies = await olena.says("ви тут?")
    assert seen(replies) == "" and for_managers(replies)[0].text == "Клієнт: ви тут?"
    assert seen(await services.conversation.start(olena.me)) == WITH_MANAGER


async def test_a_lost_session_mid_checkout_keeps_the_order(services):
    olena = Shopper(services.conversation, 704)
    await olena.presses("o:KR-KS-003")
    await olena.presses("s:KR-KS-003:XL")
    await olena.presses("c:KR-KS-003:XL:оливковий")
    await services.backend.delete(session_key(704))
    delivery = await olena.says("Олена, 050 111 22 33")
    assert data(delivery) == ["d:np", "d:courier"]
    await services.backend.delete(session_key(704))
    [summary] = await olena.says("Одеса, 7")
    assert "KR-KS-003" not in summary.text and "Костюм" in summary.text
    assert "Одеса, відділення №7" in summary.text


async def test_a_session_that_remembers_a_lapsed_draft_goes_back_to_browsing(services):
    olena = Shopper(services.conversation, 705)
    await olena.presses("o:KR-KS-003")
    await olena.presses("s:KR-KS-003:XL")
    await olena.presses("c:KR-KS-003:XL:оливковий")
    draft = await services.orders.draft_for(705)
    await services.orders.cancel(draft.id, "system:expiry", "reservation expired")
    replies = await olena.says("Олена, 050 111 22 33")  # no checkout under way any more
    assert data(replies) != ["d:np", "d:courier"]
    assert (await SessionCache(services.backend, 60).load(705)).stage != "contact"


async def test_start_greets_and_help_explains(services):
    olena = Shopper(services.conversation, 706)
    assert seen(await services.conversation.start(olena.me)) == GREETING
    assert "менеджер" in seen(await services.conversation.help(olena.me))
    assert "голосові" in seen(await services.conversation.unsupported(olena.me))


async def test_a_complaint_goes_to_a_person_at_level_two(services):
    replies = await Shopper(services.conversation, 707).says("Річ прийшла з браком, скарга")
    [row] = await handoff_rows(services)
    assert (row.level, row.reason) == ("L2", "complaint")
    assert "(L2, complaint)" in for_managers(replies)[0].text


async def test_manager_replies_and_customer_turns_at_once_lose_nothing(
    database_url, db, demo_catalog, redis_url
):
    """The manager chat's queue and the customer's queue write one chat's session at once
    (Redis, so every load and save really interleaves): no turn is lost, and the hand-off
    stays as Postgres has it."""
    async with shop(database_url, redis=RedisSettings(url=SecretStr(redis_url))) as services:
        olena = Shopper(services.conversation, 708)
        await olena.says("менеджер")
        conversation = services.conversation
        await asyncio.gather(
            *(olena.says(f"питання {n}") for n in range(4)),
            *(conversation.from_manager(708, f"відповідь {n}", by="manager:77") for n in range(4)),
        )
        turns = [t.text for t in (await SessionCache(services.backend, 60).load(708)).turns]
        assert {f"питання {n}" for n in range(4)} <= set(turns)
        assert {f"відповідь {n}" for n in range(4)} <= set(turns)
        [row] = await handoff_rows(services)
        assert (row.status, row.taken_by) == ("taken", "manager:77")


async def test_without_a_manager_chat_the_customer_learns_how_to_reach_the_shop(
    database_url, db, demo_catalog
):
    contacts = "+380 44 000 00 00, щодня 9:00–20:00"
    async with shop(
        database_url, manager_chat_id=None, dialog=DialogSettings(shop_contacts=contacts)
    ) as services:
        olena = Shopper(services.conversation, 709)
        asked = await olena.says("покличте менеджера")
        # The shop section's contacts and hours; the setting is only the fallback.
        assert "+380 67 123 45 00" in seen(asked) and "Пн–Пт 9:00–20:00" in seen(asked)
        assert for_managers(asked) == []
        [row] = await handoff_rows(services)
        assert (row.status, row.closed_by) == ("closed", "system:no-manager-chat")
        # The bot does not go silent: the next question is answered.
        assert "1 650 грн" in seen(await olena.says("скільки коштує KR-KS-002"))
        async with db.begin() as conn:  # a shop whose catalog has no section
            await conn.execute(text("DELETE FROM shop_section"))
        assert contacts in seen(await olena.says("покличте менеджера"))
