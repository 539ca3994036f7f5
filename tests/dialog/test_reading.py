"""The text readers on their own: sizes and colours in their forms and typos, typed button
labels, the contact step's one-line answers, and intents with typos and surzhyk."""

from __future__ import annotations

import pytest

from app.dialog.contact import read_contact
from app.dialog.intents import classify
from app.dialog.typed import match
from app.dialog.variants import colours_in, size_mentions, sizes_in
from app.dialog.words import normalise

HOODIE_COLOURS = ["чорний", "сірий", "молочний"]


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("а сіра є?", ["сірий"]),
        ("сірі худі", ["сірий"]),
        ("серый", ["сірий"]),
        ("серые", ["сірий"]),
        ("grey one", ["сірий"]),
        ("в чорному", ["чорний"]),
        ("черная", ["чорний"]),
        ("молочнй", ["молочний"]),  # a letter missing
        ("сiрий", ["сірий"]),  # a Latin i inside the word
        ("чорний або сірий", ["чорний", "сірий"]),
        ("синій", []),  # not one of this product's colours
    ],
)
def test_colours_are_read_in_their_forms_languages_and_typos(text, wanted):
    assert colours_in(text, HOODIE_COLOURS) == wanted


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("є xl?", ["XL"]),
        ("а хл?", ["XL"]),
        ("ХL", ["XL"]),
        ("2xl", ["XXL"]),
        ("розмір м", ["M"]),
        ("M", ["M"]),
        ("худі з капюшоном с кишенями", []),  # "с" in lower case is a preposition
        ("42-44", ["42-44"]),
        ("джинсы 30 синие", ["30"]),
    ],
)
def test_sizes_are_read_in_latin_and_cyrillic_letters_and_numbers(text, wanted):
    assert size_mentions(text) == wanted


def test_a_size_range_is_the_products_size_or_each_end_it_has():
    assert sizes_in("є 42-44?", ["40-42", "42-44"]) == ["42-44"]
    assert sizes_in("є 42-44?", ["40", "42", "44"]) == ["42", "44"]


SIZES = [("S", "s:KR-HD-001:S"), ("M", "s:KR-HD-001:M"), ("XL", "s:KR-HD-001:XL")]
CONFIRM = [("✅ Підтвердити", "ok:7"), ("✖️ Скасувати", "x:7")]
DELIVERY = [("🚚 Нова Пошта", "d:np"), ("🛵 Кур'єр", "d:courier")]


@pytest.mark.parametrize(
    ("text", "choices", "pressed"),
    [
        ("M", SIZES, "s:KR-HD-001:M"),
        ("м", SIZES, "s:KR-HD-001:M"),
        ("хл", SIZES, "s:KR-HD-001:XL"),
        ("давайте М, будь ласка", SIZES, "s:KR-HD-001:M"),
        ("перший", SIZES, "s:KR-HD-001:S"),
        ("друге", SIZES, "s:KR-HD-001:M"),
        ("3", SIZES, "s:KR-HD-001:XL"),
        ("а M є?", SIZES, None),  # a question is answered, not pressed
        ("так", CONFIRM, "ok:7"),
        ("ні", CONFIRM, None),  # a bare "no" never cancels an order: the agent answers it
        ("нова пошта", DELIVERY, "d:np"),
        ("курьер", DELIVERY, None),  # a Russian word names no label: asked again
        ("кур'єр", DELIVERY, "d:courier"),
        ("скільки коштує доставка до львова", DELIVERY, None),
    ],
)
def test_a_typed_label_presses_the_button_it_names(text, choices, pressed):
    assert match(text, choices) == pressed


@pytest.mark.parametrize(
    ("text", "name", "phone", "short"),
    [
        ("Петро, 067 123 45 67", "Петро", "067 123 45 67", False),
        ("олена коваль +380671234567", "Олена Коваль", "+380671234567", False),
        ("067 123 45 67", None, "067 123 45 67", False),
        ("Петро, 123", "Петро", None, True),
        ("Оксана Петренко", "Оксана Петренко", None, False),
    ],
)
def test_the_contact_step_reads_a_name_and_a_phone_in_one_line(text, name, phone, short):
    typed = read_contact(text)
    assert typed is not None
    assert (typed.name, typed.phone, typed.short_number) == (name, phone, short)


@pytest.mark.parametrize("text", ["скільки коштує доставка?", "а сірий є?", "так", "дякую"])
def test_a_question_at_the_contact_step_is_no_contact(text):
    assert read_contact(text) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("дотавка скільки коштує", "delivery"),  # a letter missing
        ("а наложкой можна?", "payment"),
        ("шо по вазврату", "returns"),  # "возврат" with one letter wrong
        ("можна повернути якщо не підійде?", "returns"),
        ("який розмір мені взяти на 170 см?", "sizing"),
        ("до скількох працюєте в суботу", "hours"),
        ("дайте номер телефону магазину", "contacts"),
        ("шо у вас є", "catalog"),
        ("прівєт", "greeting"),
        ("дякую, все зрозуміло", "thanks"),
        ("позовите оператора", "human"),
        ("прийшла бракована річ", "complaint"),
        ("i'll take it", "order"),
    ],
)
def test_intents_survive_typos_and_surzhyk(text, intent):
    assert classify(text).intent == intent


def test_the_normal_form_reads_latin_look_alikes_and_apostrophes():
    assert normalise("Сiрий ХL, кур’єр!") == "сірий хl кур'єр"


def test_no_product_name_of_the_demo_shop_reads_as_a_shop_question():
    # "Футболка «Графіт»" read as "графік" (opening hours) with one typo forgiven: a product's
    # name must never turn a price or stock question into a shop question.
    from tests.fixtures_demo import demo_items

    asked = []
    for item in demo_items():
        name = item.product.name
        plain = name.replace("«", "").replace("»", "")
        for text in (f"скільки коштує {name}?", f"є {plain} в розмірі M?"):
            reading = classify(text)
            if reading.topics:
                asked.append((text, reading.topics))
    assert asked == []
