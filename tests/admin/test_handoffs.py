"""Hand-off pages: a conversation waiting for a person with its context and photos; take it,
reply (the customer gets it through the bot, the managers' chat sees it), give it back."""

from __future__ import annotations

import re

from sqlalchemy import select, text

from app.admin.models import AuditEntry
from app.admin.views.handoffs import named_skus
from tests.admin.conftest import shown
from tests.bot.conftest import MANAGERS
from tests.bot.test_conversation import Customer, said
from tests.fixtures_demo import demo_photo

CHAT = 801


async def handoff_row(db) -> tuple[object, ...]:
    async with db.connect() as conn:
        row = await conn.execute(text("SELECT status, taken_by, closed_by FROM handoffs"))
        return tuple(row.one())


async def test_take_reply_and_return_reach_the_customer_through_the_bot(
    owner, client, telegram, db, session_factory
):
    olena = Customer(client, telegram, CHAT)
    [card] = await olena.sends_photo(demo_photo("KR-KS-001.png"))
    assert card.method == "sendPhoto"
    await olena.says("покличте менеджера, будь ласка")
    listed = shown(await owner.get("/admin/handoffs"))
    assert f"/admin/handoffs/{CHAT}" in listed

    page = await owner.get(f"/admin/handoffs/{CHAT}")
    assert page.status_code == 200 and "ніхто не взяв" in shown(page)
    assert "покличте менеджера, будь ласка" in shown(page)
    [photo_url] = re.findall(rf'src="(/admin/handoffs/{CHAT}/photos/\d+)"', page.text)
    photo = await owner.get(photo_url)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/png"
    assert photo.content == demo_photo("KR-KS-001.png")

    taken = await owner.post(f"/admin/handoffs/{CHAT}/take")
    assert "взяв admin:olha" in shown(taken)
    assert await handoff_row(db) == ("taken", "admin:olha", None)

    to_managers = len(telegram.sent(MANAGERS))
    replied = await owner.post(f"/admin/handoffs/{CHAT}/reply", {"text": "Вітаю! Є ваш розмір."})
    assert replied.status_code == 200
    assert said(telegram.sent(CHAT)[-1]) == "Вітаю! Є ваш розмір."
    [echo] = telegram.sent(MANAGERS)[to_managers:]
    assert "olha (панель) → клієнту" in said(echo) and "Вітаю! Є ваш розмір." in said(echo)

    # While a person has the chat, the bot stays silent to the customer.
    before = len(telegram.sent(CHAT))
    await client.post(
        "/telegram/webhook",
        json=telegram.message_update(CHAT, "дякую, чекаю"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "webhook-secret-42"},
    )
    back = await owner.post(f"/admin/handoffs/{CHAT}/bot")
    assert back.status_code == 200 and f"/admin/handoffs/{CHAT}" not in shown(back)
    assert len(telegram.sent(CHAT)) == before + 1
    assert "знову на зв'язку" in said(telegram.sent(CHAT)[-1])
    assert await handoff_row(db) == ("closed", "admin:olha", "admin:olha")
    answer = await olena.says("скільки коштує KR-KS-002")
    assert "1 650 грн" in said(answer[-1])

    async with session_factory() as session:
        entries = (
            await session.execute(
                select(AuditEntry.action, AuditEntry.after).order_by(AuditEntry.id)
            )
        ).all()
    handoffs = [(a, after) for a, after in entries if a.startswith("handoff.")]
    assert handoffs == [
        ("handoff.take", {"taken_by": "admin:olha"}),
        ("handoff.reply", {"text": "Вітаю! Є ваш розмір.", "delivered": True}),
        ("handoff.close", {"closed_by": "admin:olha"}),
    ]
    # The chat is the bot's again: no page, no reply from the panel.
    assert (await owner.get(f"/admin/handoffs/{CHAT}")).status_code == 404
    assert (await owner.post(f"/admin/handoffs/{CHAT}/reply", {"text": "ще"})).status_code == 404


async def test_a_reply_telegram_refuses_is_told_to_the_manager(owner, client, telegram):
    await Customer(client, telegram, CHAT).says("покличте менеджера")
    telegram.fail("sendMessage", 403, description="Forbidden: bot was blocked by the user")
    response = await owner.post(f"/admin/handoffs/{CHAT}/reply", {"text": "Вітаю!"})
    assert response.status_code == 502 and "Telegram не прийняв" in shown(response)


def test_the_summarys_skus_are_found_once_each_in_order():
    summary = "Фото: KR-KS-001 (0.91), KR-FT-003; у фокусі KR-KS-001. Код ABC, kr-ks-009"
    assert named_skus(summary) == ["KR-KS-001", "KR-FT-003"]
