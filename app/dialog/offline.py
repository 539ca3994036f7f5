"""The offline agent: rule-based, Ukrainian, over the same catalog, shop section and RAG as the
model.

It answers when no model is configured and is the last automatic link after the model chain.
The intent comes from `app.dialog.intents` (the shared contract's names), what the shop sells
from `app.dialog.assortment`, sizes and colours from `app.dialog.variants`. A product is named
only when retrieval is confident (the top hit's score reaches `min_score`, the threshold the
evals derive into data/thresholds.yaml) or when it is the product the conversation is about;
otherwise the reply asks or lists the matching kind of product, never an unrelated card. Every
price and stock figure is read from the product card, every shop fact from the shop section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from app.dialog import shop_texts
from app.dialog.assortment import KINDS
from app.dialog.intents import SHOP_TOPICS, Intent, Reading, classify
from app.dialog.render import format_uah, sizes_in_stock, stock_answer, stock_line
from app.dialog.variants import colours_in, size_mentions, sizes_in
from app.dialog.words import has_stem, words

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from app.catalog.schemas import Product
    from app.dialog.assortment import Assortment
    from app.dialog.intents import ShopTopic
    from app.rag.search import Hit
    from app.shop.schemas import Shop

_KIND_STEMS = tuple(stem for stems in KINDS.values() for stem in stems)
MAX_OPTIONS = 6
"""Products listed at most when the reply offers a choice (a kind, "is it one of these?")."""
DEFAULT_MIN_SCORE = 0.0325
"""The text card threshold when none is configured: full text and vectors agree on the top
two ranks (1/61 + 1/62 in reciprocal rank fusion); see data/thresholds.yaml."""
_BUDGET = re.compile(r"(?:до|не дорожче|не дороже|under|up to|max)\s*(\d[\d\s]{1,7})", re.I)
# Words that point back at the product in the conversation.
_REFERS = re.compile(
    r"\b(він|вона|воно|його|її|цей|ця|це|цю|цього|такий|така|таку|такі|ці|him|it|this|"
    r"его|ее|этот|эта|эту|это|этого|такой|такую)\b",
    re.I,
)


class Search(Protocol):
    async def __call__(self, query: str, k: int) -> list[Hit]:
        """The products that best match `query`, best first, with their retrieval scores."""
        ...


@dataclass(frozen=True)
class AgentReply:
    intent: Intent
    text: str
    skus: list[str] = field(default_factory=list)
    """The product the reply is about (first), if any."""
    escalate: bool = False
    """Hand the conversation to a person."""
    card: bool = False
    """Show the product card of skus[0] (a product newly named)."""
    options: list[str] = field(default_factory=list)
    """Products offered as a choice (buttons), none of them claimed to be what was meant."""
    size: str | None = None
    colour: str | None = None
    """The variant the customer named, as the product's labels spell it."""
    topics: tuple[ShopTopic, ...] = ()
    """The shop questions answered (from the shop section)."""
    reason: str | None = None
    """Why a person should take over (escalations_total's reason)."""


@dataclass(frozen=True)
class Found:
    """The product a message is about, and how sure that is."""

    card: Product | None
    new: bool
    """Named by this message (not the product already in the conversation)."""
    ambiguous: list[Product] = field(default_factory=list)
    """Several products in play and the message does not say which."""
    ranked: tuple[str, ...] = ()
    """Retrieval's SKUs for the message, best first, however unsure."""


class OfflineAgent:
    """Answers one customer message with the catalog's and the shop's own figures."""

    def __init__(
        self,
        search: Search,
        cards: Callable[[str], Awaitable[Product | None]],
        *,
        assortment: Assortment | None = None,
        shop: Callable[[], Awaitable[Shop | None]] | None = None,
        min_score: float = DEFAULT_MIN_SCORE,
        k: int = 3,
    ) -> None:
        self._search = search
        self._cards = cards
        self._assortment = assortment
        self._shop = shop
        self.min_score = min_score
        self._k = k

    async def _card(self, sku: str) -> Product | None:
        card = await self._cards(sku)
        return card if card is not None and card.active else None

    async def respond(self, text: str, *, focus: Sequence[str] = ()) -> AgentReply:
        """The reply to `text`; `focus` are the products the conversation is about, the one in
        focus first (several: the customer was shown a choice)."""
        reading = classify(text)
        if reading.intent == "human":
            return AgentReply(
                "human",
                "Звісно, передаю розмову менеджеру — він відповість найближчим часом.",
                list(focus[:1]),
                escalate=True,
                reason="asked",
            )
        if reading.intent == "complaint":
            return AgentReply(
                "complaint",
                "Мені дуже шкода 😔 Передаю менеджеру — він розбереться й відповість тут.",
                escalate=True,
                reason="complaint",
            )
        if reading.topics:
            return await self._shop_answer(reading.topics, focus, text)
        if reading.cues.get("identity"):
            return AgentReply(
                "other",
                "Я бот-помічник магазину 🤖 Підкажу ціну, розміри й наявність і оформлю "
                "замовлення. Щоб поговорити з людиною, напишіть «менеджер».",
            )
        kinds = await self._assortment.read(text) if self._assortment is not None else None
        found = await self._find(text, reading, focus)
        if kinds is not None and kinds.missing and (found.card is None or not found.new):
            return await self._not_sold(kinds.missing, kinds.sold)
        if found.ambiguous:
            names = ", ".join(c.name for c in found.ambiguous)
            return AgentReply(
                reading.intent if reading.intent in ("stock", "price", "order") else "stock",
                f"Про який товар ідеться: {names}? Оберіть, будь ласка.",
                options=[c.sku for c in found.ambiguous],
            )
        asks_kind = reading.intent == "catalog" and kinds is not None and kinds.sold
        if asks_kind and not describes(text):  # "які у вас є джинси?": all of them, not one
            assert kinds is not None
            return await self._list(text, kinds.sold, reading, found.ranked)
        if found.card is not None:
            return self._about(found, reading, text)
        if reading.intent == "catalog" or (kinds is not None and kinds.sold):
            return await self._list(text, kinds.sold if kinds else [], reading, found.ranked)
        return await self._without_product(text, reading)

    # Finding the product ---------------------------------------------------------------------

    async def _find(self, text: str, reading: Reading, focus: Sequence[str]) -> Found:
        in_play = [c for c in [await self._card(s) for s in focus] if c is not None]
        hits = await self._search(text, self._k)
        ranked = tuple(hit.sku for hit in hits)
        if hits and hits[0].score >= self.min_score:
            named = await self._card(hits[0].sku)
            if named is not None:
                return Found(named, named.sku not in focus[:1], ranked=ranked)
        if not in_play:
            return Found(None, False, ranked=ranked)
        variants = size_mentions(text) or any(colours_in(text, c.colours) for c in in_play)
        follows = (
            variants
            or reading.intent in ("stock", "price", "order")
            or _REFERS.search(text) is not None
        )
        if not follows:
            return Found(None, False, ranked=ranked)
        if len(in_play) == 1:
            return Found(in_play[0], False)
        sized = bool(size_mentions(text))
        coloured = any(colours_in(text, c.colours) for c in in_play)

        def fits(card: Product) -> bool:
            """Made in every size and colour the message names."""
            return (not sized or bool(sizes_in(text, card.sizes))) and (
                not coloured or bool(colours_in(text, card.colours))
            )

        fitting = [c for c in in_play if fits(c)] or in_play
        if len(fitting) == 1:
            return Found(fitting[0], False)
        return Found(None, False, ambiguous=fitting)

    # Replies ---------------------------------------------------------------------------------

    def _about(self, found: Found, reading: Reading, text: str) -> AgentReply:
        card = found.card
        assert card is not None
        sizes, colours = sizes_in(text, card.sizes), colours_in(text, card.colours)
        size, colour = (sizes[0] if sizes else None), (colours[0] if colours else None)
        known = {s.casefold() for s in card.sizes}
        unknown = next((m for m in size_mentions(text) if m.casefold() not in known), None)
        summary = f"{card.name} — {format_uah(card.price)}. {stock_line(card)}"

        def reply(intent: Intent, said: str, *, card_shown: bool = False) -> AgentReply:
            return AgentReply(intent, said, [card.sku], card=card_shown, size=size, colour=colour)

        if reading.intent == "order":
            if not sizes_in_stock(card):
                return reply("order", f"На жаль, цього товару зараз немає: {card.name}.")
            return reply("order", f"{card.name} — {format_uah(card.price)}.")
        if reading.intent == "price":
            return reply("price", summary, card_shown=found.new)
        if reading.intent == "stock" or size or colour or (unknown and not size):
            answer = stock_answer(card, size, colour, missing_size=None if size else unknown)
            if found.new and reading.intent != "stock":
                # A description with a variant ("рожевий костюм з блискавкою", "ритм чорний
                # M"): the card, and under it the answer for that variant.
                return reply("product", answer, card_shown=True)
            if found.new:
                answer = f"{answer}\nЦіна: {format_uah(card.price)}."
            return reply("stock", answer)
        if not found.new:
            return reply("product", summary)
        return reply("product", "", card_shown=True)

    async def _shop_answer(
        self, topics: tuple[ShopTopic, ...], focus: Sequence[str], text: str
    ) -> AgentReply:
        shop = await self._shop() if self._shop is not None else None
        categories = [c.category for c in [await self._card(s) for s in focus[:1]] if c]
        if "sizing" in topics and self._assortment is not None:
            for kind in (await self._assortment.read(text)).sold:
                categories += [b.category for b in (await self._assortment.of_kind(kind))[:1]]
        reply = shop_texts.answer(shop, topics, categories)
        primary = next(t for t in SHOP_TOPICS if t in topics)
        return AgentReply(primary, reply, list(focus[:1]), topics=topics)

    async def _not_sold(self, missing: list[str], sold: list[str]) -> AgentReply:
        assert self._assortment is not None
        categories = [name for name, _ in await self._assortment.categories()]
        reply = f"На жаль, такого в нас немає: {', '.join(missing)}."
        if categories:
            reply += f" У нас є: {', '.join(categories)}."
        return AgentReply("out_of_catalog", reply)

    async def _list(
        self, text: str, kinds: list[str], reading: Reading, ranked: Sequence[str] = ()
    ) -> AgentReply:
        """Products of the kinds named (or the categories): a choice, not a claim. Those
        retrieval ranks for the message come first, so a described product tops the list."""
        assert self._assortment is not None
        briefs = [b for kind in kinds for b in await self._assortment.of_kind(kind)]
        order = {sku: i for i, sku in enumerate(ranked)}
        briefs.sort(key=lambda b: order.get(b.sku, len(order)))
        budget = _budget(text)
        cards = [c for c in [await self._card(b.sku) for b in briefs] if c is not None]
        wanted = [
            c for c in cards
            if sizes_in_stock(c) and (budget is None or c.price <= budget)
        ][:MAX_OPTIONS]  # fmt: skip
        # "які у вас сукні?" asks what is sold; "bomber pilot" looks for one product of a kind.
        described = bool(ranked) and ranked[0] in {b.sku for b in briefs} and describes(text)
        intent: Intent = reading.intent
        if reading.intent == "other":
            intent = "product" if described and not reading.cues.get("catalog") else "catalog"
        if wanted:
            lines = "\n".join(f"• {c.name} — {format_uah(c.price)}" for c in wanted)
            return AgentReply(
                intent,
                f"Ось що є ({', '.join(kinds)}):\n{lines}\nОберіть, щоб побачити фото й розміри.",
                options=[c.sku for c in wanted],
            )
        if cards:
            return AgentReply(
                intent,
                f"Зараз, на жаль, немає в наявності ({', '.join(kinds)}). Можу покликати "
                "менеджера.",
            )
        categories = [name for name, _ in await self._assortment.categories()]
        return AgentReply(
            "catalog",
            f"У нас є: {', '.join(categories)}. Напишіть, що вас цікавить, або надішліть фото.",
        )

    async def _without_product(self, text: str, reading: Reading) -> AgentReply:
        if reading.intent == "catalog" and self._assortment is not None:
            return await self._list(text, [], reading)
        if reading.thanks and reading.intent in ("thanks", "other"):
            return AgentReply("thanks", "Будь ласка! Звертайтеся, якщо будуть питання 🙂")
        if reading.greets and reading.intent in ("greeting", "other"):
            return AgentReply(
                "greeting",
                "Вітаю! Я помічник магазину. Надішліть фото речі або опишіть, що шукаєте — "
                "підкажу ціну, розміри й наявність.",
            )
        if reading.cues.get("ping") and reading.intent == "other":
            return AgentReply("other", "Я тут 🙂 Чим допомогти? Надішліть фото або назву речі.")
        suggestions = await self._suggest(text)
        if suggestions:
            lines = "\n".join(f"• {c.name} — {format_uah(c.price)}" for c in suggestions)
            return AgentReply(
                reading.intent if reading.intent != "other" else "product",
                f"Не впевнений, що саме ви шукаєте. Можливо, щось із цього?\n{lines}\n"
                "Або уточніть назву чи надішліть фото.",
                options=[c.sku for c in suggestions],
            )
        if reading.intent in ("price", "stock", "order"):
            return AgentReply(
                reading.intent,
                "Підкажіть, будь ласка, про який товар ідеться? Надішліть фото або назву.",
            )
        return AgentReply(
            "other",
            "Не зовсім зрозумів. Надішліть, будь ласка, фото товару або опишіть його "
            "(наприклад: «рожевий костюм з блискавкою»). Можу також покликати менеджера.",
        )

    async def _suggest(self, text: str) -> list[Product]:
        """Products that may fit a description retrieval is unsure of ("щось тепле на зиму,
        S, до 3000"), within a budget and the sizes named; a choice, never a card."""
        mentioned = size_mentions(text)
        budget = _budget(text)
        if budget is None and not mentioned:
            return []
        hits = await self._search(text, MAX_OPTIONS * 2)
        found: list[Product] = []
        for hit in hits:
            card = await self._card(hit.sku)
            if card is None or not sizes_in_stock(card):
                continue
            if budget is not None and card.price > budget:
                continue
            if mentioned and not any(
                v.available > 0 and v.size in sizes_in(text, card.sizes) for v in card.variants
            ):
                continue
            found.append(card)
        return found[:3]


# Words that say nothing of which product: "а сукні у вас?" names only a kind.
_FILLER = frozenset(
    [
        "а", "й", "і", "та", "ще", "які", "яка", "що", "шо", "вас", "мені", "хочу", "покажіть",
        "покажи", "ну", "ось", "тут", "какие", "какая", "что", "есть", "мне", "покажите", "вот",
        "do", "you", "have", "any", "show", "me", "the", "some", "please", "будь", "ласка",
        "пожалуйста", "ваші", "ваши", "your",
    ]
)  # fmt: skip


def describes(text: str) -> bool:
    """Does `text` say more than a kind of garment ("сукні", "а худі є?")?"""
    rest = [
        w
        for w in words(text)
        if w not in _FILLER and len(w) >= 3 and not any(has_stem([w], s) for s in _KIND_STEMS)
    ]
    return bool(rest)


def _budget(text: str) -> Decimal | None:
    """ "до 3000", "under 2000": the most the customer wants to pay, in UAH."""
    match = _BUDGET.search(text)
    if match is None:
        return None
    return Decimal(match.group(1).replace(" ", ""))
