"""The shop section in words: answers to delivery, payment, returns, sizing, contacts and hours
questions, the contacts line of a hand-off, and the compact context a model gets.

Every amount is the section's own (rendered with `format_uah`); nothing here is written by a
model. Templates name things in the nominative after a colon, so no word needs declension.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.dialog.render import format_uah

if TYPE_CHECKING:
    from collections.abc import Iterable

    from app.shop.schemas import DeliveryOption, Shop, SizeChart

NO_SECTION = "Цю інформацію уточнить менеджер 🙏 Напишіть «менеджер», і вам відповість людина."


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?…)" else f"{text}."


def _delivery_line(option: DeliveryOption) -> str:
    price = format_uah(option.price) if option.price is not None else "за тарифом перевізника"
    line = f"• {option.title}: {price}, {option.days}"
    if option.free_from is not None:
        line += f"; безкоштовно від {format_uah(option.free_from)}"
    if option.note:
        line += f". {_sentence(option.note)}"
    return line


def delivery(shop: Shop) -> str:
    lines = ["Доставка:", *(_delivery_line(o) for o in shop.delivery.options)]
    if shop.delivery.note:
        lines.append(_sentence(shop.delivery.note))
    return "\n".join(lines)


def payment(shop: Shop) -> str:
    lines = ["Оплата:"]
    for option in shop.payment.options:
        line = f"• {option.title}"
        if option.note:
            line = f"{_sentence(line)} {option.note}"
        lines.append(_sentence(line))
    if shop.payment.note:
        lines.append(_sentence(shop.payment.note))
    return "\n".join(lines)


def returns(shop: Shop) -> str:
    rules = shop.returns
    what = "повернути або обміняти" if rules.exchange else "повернути"
    lines = [f"Повернення й обмін: річ можна {what} протягом {rules.days} днів після отримання."]
    if rules.conditions:
        lines.append(f"Умова: {_sentence(rules.conditions)}")
    if rules.how:
        lines.append(f"Як це зробити: {_sentence(rules.how)}")
    return "\n".join(lines)


def size_chart(chart: SizeChart) -> str:
    title = "Розмірна сітка" if chart.category == "*" else f"Розмірна сітка, {chart.category}"
    rows = [" | ".join(chart.columns), *(" | ".join(row) for row in chart.rows)]
    text = f"{title}:\n" + "\n".join(rows)
    if chart.note:
        text += f"\n{_sentence(chart.note)}"
    return text


def sizing(shop: Shop, categories: Iterable[str] = ()) -> str:
    """The size chart of each of `categories` (the products in the conversation), else the
    general one; and how to choose."""
    charts: list[SizeChart] = []
    for category in categories:
        chart = shop.chart_for(category)
        if chart is not None and chart not in charts:
            charts.append(chart)
    if not charts:
        general = shop.chart_for(None)
        charts = [general] if general is not None else list(shop.size_charts[:1])
    if not charts:
        return "Підкажіть, яку річ обираєте, і ваші зріст та обхвати — підберемо розмір 🙂"
    tail = "Напишіть свої обхвати чи зріст — підкажу розмір, або покличу менеджера."
    return "\n\n".join([*(size_chart(c) for c in charts), tail])


def contacts(shop: Shop) -> str:
    known = shop.contacts
    parts = [
        (label, value)
        for label, value in (
            ("Телефон", known.phone),
            ("Telegram", known.telegram),
            ("Instagram", known.instagram),
            ("Email", known.email),
            ("Адреса", known.address),
        )
        if value
    ]
    if not parts:
        return "Пишіть нам тут, у цьому чаті — відповімо 🙂"
    return "Наші контакти:\n" + "\n".join(f"• {label}: {value}" for label, value in parts)


def hours(shop: Shop) -> str:
    if not shop.hours:
        return "Пишіть у будь-який час: я відповідаю цілодобово, менеджери — у робочий час."
    return "Графік роботи:\n" + "\n".join(f"• {line}" for line in shop.hours)


TOPICS = {
    "delivery": delivery,
    "payment": payment,
    "returns": returns,
    "contacts": contacts,
    "hours": hours,
}


def answer(shop: Shop | None, topics: Iterable[str], categories: Iterable[str] = ()) -> str:
    """The answer to every shop question in `topics`, one paragraph each."""
    if shop is None:
        return NO_SECTION
    parts = [
        sizing(shop, categories) if topic == "sizing" else TOPICS[topic](shop)
        for topic in dict.fromkeys(topics)
        if topic == "sizing" or topic in TOPICS
    ]
    return "\n\n".join(parts) if parts else NO_SECTION


def reach_line(shop: Shop | None) -> str | None:
    """How to reach the shop in one line (phone, Telegram, hours), or None without contacts."""
    if shop is None:
        return None
    known = shop.contacts
    parts = [p for p in (known.phone, known.telegram, known.email) if p]
    if not parts:
        return None
    line = ", ".join(parts)
    return f"{line} ({'; '.join(shop.hours)})" if shop.hours else line


def context(shop: Shop | None) -> str:
    """The section as the model's context: short lines, every amount from the section."""
    if shop is None:
        return "Інформації про доставку й оплату немає: запропонуй менеджера."
    lines = [f"Магазин: {shop.name}."]
    lines += [_delivery_line(o).removeprefix("• ") for o in shop.delivery.options]
    if shop.delivery.note:
        lines.append(_sentence(shop.delivery.note))
    lines.append("Оплата: " + "; ".join(o.title for o in shop.payment.options) + ".")
    lines.append(returns(shop).splitlines()[0])
    if shop.hours:
        lines.append("Графік: " + "; ".join(shop.hours) + ".")
    reach = reach_line(shop)
    if reach:
        lines.append(f"Контакти: {reach}.")
    if shop.size_charts:
        lines.append("Розмірні сітки є для: " + ", ".join(c.category for c in shop.size_charts))
    return "\n".join(lines)
