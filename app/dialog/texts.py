"""What the bot says on its own (Ukrainian), and how it reads what customers type."""

from __future__ import annotations

import re

GREETING = (
    "Вітаю! Я помічник магазину 🛍 Надішліть фото або скріншот речі — скажу, що це, скільки "
    "коштує і які є розміри. Або опишіть, що шукаєте. Щоб покликати менеджера, напишіть «менеджер»."
)
HELP = (
    "Що я вмію:\n• впізнати товар за фото чи скріншотом;\n• підказати ціну, розміри, кольори й "
    "наявність;\n• оформити замовлення з доставкою Новою Поштою або кур'єром.\n"
    "Напишіть «менеджер», щоб поговорити з людиною."
)
UNSUPPORTED = (
    "Вибачте, голосові, відео й стікери я поки не розумію 🙏 Напишіть, будь ласка, текстом або "
    "надішліть фото товару."
)
REJECTED_PHOTO = (
    "Не вдалося відкрити це зображення. Надішліть, будь ласка, фото у форматі JPG або PNG "
    "(до 10 МБ)."
)
HANDED_OFF = "Передаю розмову менеджеру — він відповість тут найближчим часом."
WITH_MANAGER = "Вашою розмовою вже займається менеджер — він відповість тут найближчим часом 🙏"
BACK_TO_BOT = "Я знову на зв'язку 🙂 Чим ще можу допомогти?"
STALE_BUTTON = (
    "Ця кнопка вже не діє 🙏 Надішліть фото чи назву товару — покажу актуальні ціни й розміри."
)
NOT_SOLD = "Цей товар більше не продається. Надішліть фото чи назву іншої речі."
HOLDING = "Хвилинку, перевіряю 🙏"
"""Said once when an answer takes longer than KRAMAR_TELEGRAM_HOLDING_SECONDS."""
ASK_NAME = "Дякую! Як до вас звертатися? Напишіть ім'я та прізвище отримувача."
ASK_PHONE = "Дякую, {name}! Тепер номер телефону, будь ласка, наприклад 067 123 45 67."
SHORT_PHONE = (
    "Схоже, номер неповний. Вкажіть, будь ласка, ім'я та український номер, наприклад: "
    "«Олена, 067 123 45 67»."
)
SORRY = (
    "Вибачте, сталася помилка 🙏 Спробуйте, будь ласка, ще раз трохи згодом або напишіть "
    "«менеджер»."
)


def reach_the_shop(contacts: str | None) -> str:
    """What a customer who asked for a person is told when no manager chat is set up: how to
    reach the shop. `contacts` is the shop's own text (phone, hours), when it has one."""
    if contacts:
        return (
            f"Зараз менеджер не може відповісти в цьому чаті. Зв'яжіться з нами напряму: "
            f"{contacts}\nА я й далі допоможу з вибором і замовленням 🙂"
        )
    return (
        "Зараз менеджер не може відповісти в цьому чаті 🙏 Спробуйте написати трохи згодом, "
        "а я поки допоможу з вибором і замовленням."
    )


# Problems a bot must not try to solve: straight to a person, level 2, with the reason.
PROBLEMS: dict[str, tuple[str, ...]] = {
    "complaint": ("скарг", "жалоб", "брак", "неякісн", "порван", "обман", "complain", "defect"),
    "payment": ("оплата не пройш", "не пройшла оплата", "списал", "гроші не повер", "refund"),
    "delivery": ("не прийш", "не отрима", "де моя посилка", "загуби", "затримк", "not arrived"),
}
L2_REASONS = frozenset(PROBLEMS)


def problem_in(text: str) -> str | None:
    """ "complaint" | "payment" | "delivery" when the message reports one, else None."""
    lowered = text.casefold()
    for reason, stems in PROBLEMS.items():
        if any(stem in lowered for stem in stems):
            return reason
    return None


PHONE = re.compile(r"\+?\d[\d\s()\-]{8,}\d")
# "Львів 12", "Київ, відділення №25": a city, then the branch number.
CITY_BRANCH = re.compile(
    r"^\s*([^\d,]+?)[\s,]+(?:№|#|відділення|відд\.?|branch)?\s*№?\s*(\d{1,5})\b", re.I
)
