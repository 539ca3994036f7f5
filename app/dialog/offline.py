"""The offline agent: rule-based, Ukrainian, over the same catalog and RAG as the model.

It answers when no model is configured and is the last automatic link after the model chain.
Intents are recognised by word stems in Ukrainian, Russian and English; the product comes from
the conversation (the product being discussed) or from retrieval; every price and stock figure
in its replies is read from the product card, never written by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from app.dialog.render import card_summary, colours_in_stock, format_uah, sizes_in_stock

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.catalog.schemas import Product

Intent = Literal[
    "human", "order", "price", "availability", "sizes", "greeting", "thanks", "product", "unknown"
]


class Retriever(Protocol):
    async def __call__(self, query: str, k: int) -> list[str]:
        """SKUs of the products that best match `query`, best first."""
        ...


@dataclass(frozen=True)
class AgentReply:
    intent: Intent
    text: str
    skus: list[str] = field(default_factory=list)
    """The products the reply is about, the one under discussion first."""
    escalate: bool = False
    """Hand the conversation to a person."""


# Stems, matched at the start of a word (or anywhere, for phrases with a space). Order
# matters: the first intent that matches wins ("скільки коштує, хочу замовити" is an order).
INTENT_STEMS: list[tuple[Intent, tuple[str, ...]]] = [
    (
        "human",
        (
            "менеджер",
            "людин",
            "оператор",
            "живий",
            "живого",
            "консультант",
            "manager",
            "human",
            "person",
        ),
    ),
    ("order", ("замов", "купи", "купл", "оформ", "беру", "візьму", "заказ", "order", "buy")),
    (
        "price",
        (
            "ціна",
            "ціну",
            "цін",
            "коштує",
            "кошту",
            "вартість",
            "цена",
            "стоит",
            "price",
            "cost",
            "how much",
        ),
    ),
    ("availability", ("наявн", "залиш", "лишил", "налич", "есть", "available", "in stock")),
    ("sizes", ("розмір", "размер", "size")),
    (
        "greeting",
        ("привіт", "вітаю", "добрий", "доброго", "привет", "здравств", "hello", "hi", "hey"),
    ),
    ("thanks", ("дякую", "спасибі", "спасиб", "thanks", "thank")),
]
SIZE_RE = re.compile(r"(?<![\w])(xxs|xs|s|m|l|xl|xxl|xxxl|[2-4]xl|[2-6]\d)(?![\w])", re.IGNORECASE)
# Words that say nothing about which product: what is left after removing them names one.
FILLER = re.compile(
    r"\b(а|і|й|та|чи|в|у|на|з|із|до|по|для|це|цей|ця|ці|є|мені|мне|я|ви|вас|скільки|сколько|"
    r"який|яка|які|какой|какие|будь|ласка|пожалуйста|please|ще|також|хочу|хотіла|хотів|можна|"
    r"можно|підкажіть|подскажите|ну|так|ок|ok|ало|алло|є\?|ще|такий|такого|таку|цю|цього)\b"
)
WORD = re.compile(r"[\w'-]+")


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text.lower().replace("’", "'").replace("ʼ", "'")).strip()


def detect_intent(text: str) -> Intent | None:
    """The customer's intent by word stems, or None when no stem matches."""
    normal = _normalise(text)
    words = WORD.findall(normal)
    for intent, stems in INTENT_STEMS:
        for stem in stems:
            if (stem in normal) if " " in stem else any(w.startswith(stem) for w in words):
                return intent
    return None


def _names_a_product(text: str) -> bool:
    """Does the message say which product (beyond intent and filler words)?"""
    rest = FILLER.sub(" ", _normalise(text))
    for _, stems in INTENT_STEMS:
        for stem in stems:
            rest = re.sub(rf"\b{re.escape(stem)}\w*", " ", rest)
    rest = SIZE_RE.sub(" ", rest)
    return any(len(word) >= 3 for word in WORD.findall(rest))


def _mentioned_size(text: str, card: Product) -> str | None:
    sizes = {s.lower(): s for s in card.sizes}
    for match in SIZE_RE.finditer(text):
        if match.group(1).lower() in sizes:
            return sizes[match.group(1).lower()]
    return None


def _mentioned_colour(text: str, card: Product) -> str | None:
    words = WORD.findall(_normalise(text))
    for colour in card.colours:
        stem = colour.lower()[: max(4, len(colour) - 3)]  # "рожевий" → "роже": any ending
        if any(word.startswith(stem) for word in words):
            return colour
    return None


class OfflineAgent:
    """Answers one customer message with the catalog's own figures."""

    def __init__(
        self,
        retrieve: Retriever,
        cards: Callable[[str], Awaitable[Product | None]],
        *,
        k: int = 3,
    ) -> None:
        self._retrieve = retrieve
        self._cards = cards
        self._k = k

    async def _candidates(self, text: str, current_sku: str | None) -> list[Product]:
        skus: list[str] = []
        if _names_a_product(text):
            skus = await self._retrieve(text, self._k)
        elif current_sku is not None:
            skus = [current_sku]
        found = [await self._cards(sku) for sku in skus]
        return [card for card in found if card is not None and card.active]

    async def respond(self, text: str, *, current_sku: str | None = None) -> AgentReply:
        """The reply to `text`; `current_sku` is the product the conversation is about, if any."""
        intent = detect_intent(text)
        if intent == "human":
            return AgentReply(
                "human",
                "Звісно, передаю розмову менеджеру — він відповість найближчим часом.",
                [current_sku] if current_sku else [],
                escalate=True,
            )
        cards = await self._candidates(text, current_sku)
        if not cards:
            return self._without_product(intent)
        card, others = cards[0], cards[1:]
        skus = [c.sku for c in cards]
        match intent:
            case "price":
                reply = f"{card.name} коштує {format_uah(card.price)}."
                if not sizes_in_stock(card):
                    reply += " Зараз, на жаль, немає в наявності."
                return AgentReply("price", reply, skus)
            case "availability" | "sizes":
                return AgentReply(intent, self._availability(text, card), skus)
            case "order":
                return AgentReply("order", self._order(card, others), skus)
            case _:
                return AgentReply("product", self._product(card, others), skus)

    @staticmethod
    def _without_product(intent: Intent | None) -> AgentReply:
        match intent:
            case "greeting":
                return AgentReply(
                    "greeting",
                    "Вітаю! Я помічник магазину. Надішліть фото речі або опишіть, що шукаєте — "
                    "підкажу ціну, розміри й наявність.",
                )
            case "thanks":
                return AgentReply("thanks", "Будь ласка! Звертайтеся, якщо будуть питання.")
            case None | "unknown" | "product":
                return AgentReply(
                    "unknown",
                    "Не зовсім зрозумів. Надішліть, будь ласка, фото товару або опишіть його "
                    "(наприклад: «рожевий костюм з блискавкою»). Можу також покликати менеджера.",
                )
            case _:
                return AgentReply(
                    intent,
                    "Підкажіть, будь ласка, про який товар ідеться? Надішліть фото або назву.",
                )

    @staticmethod
    def _availability(text: str, card: Product) -> str:
        size, colour = _mentioned_size(text, card), _mentioned_colour(text, card)
        if size is None and colour is None:
            return card_summary(card)
        available = sum(
            v.available
            for v in card.variants
            if (size is None or v.size == size) and (colour is None or v.colour == colour)
        )
        asked = ", ".join(x for x in (f"розмір {size}" if size else "", colour or "") if x)
        if available > 0:
            return f"Так, {card.name} ({asked}) є в наявності. Ціна — {format_uah(card.price)}."
        alternatives = colours_in_stock(card, size) if size else sizes_in_stock(card)
        tail = f" Є: {', '.join(alternatives)}." if alternatives else ""
        return f"На жаль, {card.name} ({asked}) зараз немає.{tail}"

    @staticmethod
    def _order(card: Product, others: list[Product]) -> str:
        sizes = sizes_in_stock(card)
        if not sizes:
            offer = [o.name for o in others if sizes_in_stock(o)]
            tail = f" Можу запропонувати: {', '.join(offer)}." if offer else ""
            return f"На жаль, {card.name} зараз немає в наявності.{tail}"
        return (
            f"Чудовий вибір! {card.name} — {format_uah(card.price)}. Оберіть розмір "
            f"({', '.join(sizes)}) і колір ({', '.join(colours_in_stock(card))}), "
            "і я оформлю замовлення."
        )

    @staticmethod
    def _product(card: Product, others: list[Product]) -> str:
        reply = card_summary(card)
        also = [o.name for o in others if sizes_in_stock(o)]
        if also:
            reply += f" Також може підійти: {', '.join(also)}."
        return reply
