"""`kramar chat`: a newcomer buys a demo product in the terminal, through the real dispatcher."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner
from sqlalchemy import text

from app.cli import main
from app.config import get_settings
from tests.fixtures_demo import DEMO

PURCHASE = [
    "привіт",
    "шукаю костюм Мрія лайт",
    "1",  # 🛒 Замовити
    "1",  # size S
    "1",  # пудровий
    "/contact +380 67 123 45 67 Олена",
    "1",  # Нова Пошта
    "Львів, 12",
    "1",  # ✅ Підтвердити
    "/quit",
]


def chat(env: dict[str, str], lines: list[str]) -> str:
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["chat"], env=env, input="\n".join(lines) + "\n")
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.stdout


async def test_a_newcomer_buys_a_demo_product_in_the_terminal(env, db):
    env = {**env, "KRAMAR_CATALOG_FILE": str(DEMO)}
    out = await asyncio.to_thread(chat, env, PURCHASE)
    assert "Вітаю!" in out
    assert "Костюм «Мрія лайт»" in out and "1 650 грн" in out.replace("\xa0", " ")
    assert "Оберіть розмір" in out and "Оберіть колір" in out
    assert "Разом: 1 650 грн" in out.replace("\xa0", " ")
    assert "прийнято" in out
    assert "[крамар → менеджерам]" in out  # the order notice
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT o.status, l.sku, l.size, l.colour, o.city, o.branch"
                    " FROM orders o JOIN order_lines l ON l.order_id = o.id"
                )
            )
        ).one()
    assert tuple(row) == ("new", "KR-KS-002", "S", "пудровий", "Львів", "12")


async def test_two_terminal_chats_at_once_keep_their_own_reservations(settings, demo_catalog, db):
    """Each chat counted update ids from the same clock second, so the second chat's
    reservation (keyed by update id) returned the first chat's order."""
    import io

    from app.bot.terminal import TerminalChat
    from app.services import open_services

    async with open_services(settings) as services:
        first = TerminalChat(services, io.StringIO(), chat_id=11)
        second = TerminalChat(services, io.StringIO(), chat_id=12)
        for chat, product in (
            (first, "хочу замовити джинси мом"),
            (second, "хочу замовити бомбер пілот"),
        ):
            for line in ("/start", product, "1", "1"):  # the first size, the first colour
                await chat.say(line)

    async with db.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT o.chat_id, l.sku FROM orders o JOIN order_lines l"
                    " ON l.order_id = o.id ORDER BY o.chat_id"
                )
            )
        ).all()
    assert [tuple(r) for r in rows] == [(11, "KR-JN-001"), (12, "KR-JK-001")]


async def test_the_terminal_plays_the_manager_and_hands_the_chat_back(settings, demo_catalog):
    """After a hand-off nothing brought the bot back in `kramar chat`, and nobody could answer
    as the manager: `/manager TEXT` answers the customer, `/bot` gives the chat back."""
    import io

    from app.bot.terminal import TerminalChat, terminal_settings
    from app.services import open_services

    out = io.StringIO()
    async with open_services(terminal_settings(settings)) as services:
        chat = TerminalChat(services, out)
        await chat.say("/manager добрий день")  # nothing was handed over yet
        assert "менеджерам ще нічого не надходило" in out.getvalue()
        await chat.say("покличте менеджера")
        assert "[крамар → менеджерам]" in out.getvalue()
        await chat.say("/manager Добрий день! Я Оксана, чим допомогти?")
        await chat.say("а ви ще тут?")  # with the manager: relayed, the bot keeps quiet
        await chat.say("/bot")
        before = len(out.getvalue())
        await chat.say("скільки коштує доставка?")
        answer = out.getvalue()[before:]

    printed = out.getvalue()
    assert "[крамар] Добрий день! Я Оксана, чим допомогти?" in printed
    assert "[крамар → менеджерам] Клієнт: а ви ще тут?" in printed
    assert "Розмову повернуто боту" in printed
    assert answer.startswith("[крамар] Доставка:") and "Нова Пошта" in answer
