"""Free text as a new customer types it, through the real dispatcher (`kramar chat`'s terminal
feeds aiogram Updates to the same routers a Telegram customer reaches), offline: every example
of issue 12's "Why" list, and the shop's own questions in Ukrainian, Russian, English and
surzhyk. A product card is a photo with "Ціна:" under it; "[фото]" marks one in the transcript.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from sqlalchemy import text

from app.bot.terminal import TerminalChat, terminal_settings
from app.services import open_services

CARD = "[фото]"
CROP = Path(__file__).resolve().parents[2] / "evals" / "vision" / "photos" / "KR-KS-001-crop.jpg"
LATIN_IN_CYRILLIC = re.compile(r"[а-яіїєґ][a-z]|[a-z][а-яіїєґ]", re.IGNORECASE)


class Talk:
    """One customer in the terminal; each line's answer as printed (NBSP as spaces)."""

    def __init__(self, services, chat_id: int) -> None:
        self.chat_id = chat_id
        self.out = io.StringIO()
        self.chat = TerminalChat(services, self.out, chat_id=chat_id)

    async def says(self, line: str) -> str:
        start = len(self.out.getvalue())
        await self.chat.say(line)
        return self.out.getvalue()[start:].replace("\xa0", " ")


@pytest.fixture(name="shop")
async def fx_shop(settings, demo_catalog):
    async with open_services(terminal_settings(settings)) as services:
        yield services


@pytest.fixture(name="talk")
def fx_talk(shop):
    chats = iter(range(3001, 4000))
    return lambda: Talk(shop, next(chats))


def no_card(said: str) -> bool:
    return CARD not in said and "Ціна:" not in said


async def test_questions_that_are_not_about_a_product_get_no_product(talk):
    """Each of these got a random product card: a skirt, a skirt, a sold-out T-shirt, a shirt."""
    olena = talk()
    said = await olena.says("у вас є шапки або шарфи?")
    assert no_card(said) and "немає" in said and "шапки" in said and "Спідниця" not in said
    said = await olena.says("скільки коштує доставка і чи можна оплатити при отриманні?")
    assert no_card(said) and "Доставка:" in said and "Оплата:" in said
    assert "80 грн" in said and "Накладений платіж" in said
    said = await olena.says("а можна повернути товар?")
    assert no_card(said) and "14 днів" in said and "Футболка" not in said
    said = await olena.says("дякую, гарного дня")
    assert no_card(said) and "Будь ласка" in said and "Сорочка" not in said


async def test_a_wish_with_a_size_and_budget_offers_what_is_in_stock_not_a_sold_out_card(talk):
    said = await talk().says("хочу щось тепле на зиму, розмір S, до 3000")
    assert no_card(said) and "Сафарі" not in said and "зараз немає" not in said
    assert "?" in said  # a question or a choice, not a claim


async def test_follow_ups_stay_on_the_product_and_answer_from_stock(talk):
    """After the «Вайб» card, "а сірий в розмірі M є?" answered about another product."""
    olena = talk()
    assert CARD in await olena.says("покажіть худі вайб")
    said = await olena.says("а сірий в розмірі M є?")
    assert "Худі «Вайб», сірий, M — немає" in said and no_card(said)
    said = await olena.says("є чорна xl?")  # a stock question is never a card alone
    assert "Худі «Вайб», чорний, XL — є." in said and no_card(said)
    said = await olena.says("а в молочному?")
    assert "Худі «Вайб», молочний" in said and "L, XL, XXL" in said
    said = await olena.says("а XXS?")
    assert "розміру XXS немає" in said and "Є розміри" in said


async def test_a_russian_stock_question_reads_the_colour_too(talk):
    """ "джинсы вайд 30 синие" got "так, є" while blue 30 is 0: the colour was ignored."""
    said = await talk().says("джинсы вайд 30 синие")
    assert "Джинси «Вайд», синій, 30 — немає" in said and "так, є" not in said.casefold()
    assert "чорний" in said  # what there is in 30


async def test_typed_labels_and_a_typed_contact_check_out_like_the_buttons(talk, db):
    """Typing "M" or "чорний" dropped the checkout; "Петро, 123" showed an unrelated product."""
    petro = talk()
    said = await petro.says("хочу замовити худі вайб")
    assert "Оберіть розмір" in said
    assert "Оберіть колір" in await petro.says("M")
    said = await petro.says("чорний")
    assert "Відкладаю" in said and "ім'я та номер" in said
    said = await petro.says("Петро, 123")
    assert "номер неповний" in said and no_card(said)
    said = await petro.says("скільки коштує доставка?")  # a question mid-checkout
    assert "Доставка:" in said and "ім'я та номер" in said
    assert "Як доставити" in await petro.says("067 123 45 67")  # the name given before
    assert "місто" in (await petro.says("нова пошта")).casefold()
    said = await petro.says("Львів, 12")
    assert "Отримувач: Петро" in said and "Разом: 1 290 грн" in said
    assert "прийнято" in await petro.says("так")
    async with db.connect() as conn:
        row = (
            await conn.execute(
                text(
                    "SELECT o.customer_name, o.phone, l.sku, l.size, l.colour FROM orders o"
                    " JOIN order_lines l ON l.order_id = o.id WHERE o.chat_id = :chat"
                ),
                {"chat": petro.chat_id},
            )
        ).one_or_none()
    assert row is not None
    assert (row.customer_name, row.sku, row.size, row.colour) == (
        "Петро",
        "KR-HD-001",
        "M",
        "чорний",
    )


async def test_a_phone_without_a_name_is_asked_for_the_name(talk, db):
    """A phone alone was accepted and the order read "Отримувач: Гість"."""
    oksana = talk()
    await oksana.says("хочу замовити джинси мом")
    await oksana.says("27")
    assert "Відкладаю" in await oksana.says("синій")
    said = await oksana.says("/contact +380 67 123 45 67")
    assert "Як до вас звертатися" in said and "Як доставити" not in said
    assert "Як доставити" in await oksana.says("Оксана Петренко")
    await oksana.says("1")  # Нова Пошта
    said = await oksana.says("Київ, 5")
    assert "Отримувач: Оксана Петренко" in said and "Гість" not in said


@pytest.mark.parametrize(
    ("line", "wanted"),
    [
        ("привіт", "Вітаю"),
        ("здрасьте", "Вітаю"),
        ("hello", "Вітаю"),
        ("спс", "Будь ласка"),
        ("thanks, bye", "Будь ласка"),
        ("do you ship abroad?", "лише по Україні"),
        ("скока доставка до львова", "Нова Пошта, відділення"),
        ("а наложкой можно?", "Накладений платіж"),
        ("можна оплатити карткою?", "Карткою онлайн"),
        ("а обмін розміру можливий?", "обміняти"),
        ("какая у вас размерная сетка?", "Розмірна сітка"),
        ("до котрої ви працюєте?", "Графік роботи"),
        ("работаете в воскресенье?", "Графік роботи"),
        ("який у вас номер телефону?", "Телефон"),
        ("what do you sell?", "У нас є"),
        ("які у вас є сукні?", "Сукня «Вишня»"),
        ("продаєте кросівки?", "немає"),
        ("доставка скільки днів йде", "дні"),
    ],
)
async def test_shop_questions_in_every_language_are_answered_from_the_shop(talk, line, wanted):
    said = await talk().says(line)
    assert wanted in said and no_card(said)


async def test_a_product_card_only_when_retrieval_is_sure(talk):
    olena = talk()
    assert CARD in await olena.says("шукаю костюм мрія лайт")
    said = await olena.says("щось гарне")
    assert no_card(said) and "Надішліть" in said  # asks for a photo or a name


async def test_asking_for_a_person_hands_over_and_the_manager_answers(talk):
    olena = talk()
    said = await olena.says("позовите живого человека")
    assert "[крамар → менеджерам]" in said and "менеджеру" in said
    said = await olena.says("/manager Вітаю, я Оксана")
    assert "[крамар] Вітаю, я Оксана" in said
    assert "повернуто боту" in await olena.says("/bot")


async def test_no_bot_text_has_latin_letters_inside_cyrillic_words(talk):
    """A Latin "e" inside "іншe" slipped into a template: scan everything the bot said."""
    olena = talk()
    for line in (
        "привіт",
        "що у вас є?",
        "скільки коштує доставка і оплата?",
        "яка розмірна сітка худі?",
        "контакти",
        "покажіть худі вайб",
        "а сірий M є?",
        "хочу замовити",
        "M",
        "чорний",
        "Петро, 123",
        "продаєте шапки?",
    ):
        said = await olena.says(line)
        words = re.findall(r"[\w'’-]+", said)
        assert not [w for w in words if LATIN_IN_CYRILLIC.search(w)], (line, said)


async def test_one_photo_candidate_is_its_card_asked_about_not_a_list_of_one(
    settings, demo_catalog
):
    """ "Це один із цих товарів?" came with a single option under an empty photo line."""
    # The hashes alone give this crop one weak candidate; the second stage (issue 17), which
    # landed after this test, verifies it into a card, so it is off here.
    vision = settings.vision.model_copy(update={"features": False})
    hashes_only = terminal_settings(settings.model_copy(update={"vision": vision}))
    async with open_services(hashes_only) as services:
        olena = Talk(services, 3999)
        said = await olena.says(f"/photo {CROP}")
        assert "Це один із цих товарів?" not in said and "[0 фото]" not in said
        assert "[фото] Схоже, це Костюм «Мрія». Так?" in said and "Ціна: 2 450 грн" in said
        assert "1) 🛒 Так, замовити" in said and "2) Ні, інше — покликати менеджера" in said
        assert "Оберіть розмір" in await olena.says("1")


async def test_with_two_products_in_play_a_stock_question_asks_which(talk):
    olena = talk()
    listed = await olena.says("які у вас є джинси?")
    assert "Джинси «Мом»" in listed and "Джинси «Вайд»" in listed and no_card(listed)
    said = await olena.says("а 27 синій є?")  # both are made in 27 and blue
    assert "Про який товар ідеться" in said and "Мом" in said and "Вайд" in said
    said = await olena.says("а чорні 30?")  # only «Вайд» is made in black
    assert "Джинси «Вайд», чорний, 30 — є." in said
