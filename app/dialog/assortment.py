"""What kinds of things the shop sells, read from the active catalog: so "у вас є шапки?" is
answered "no" and "які у вас є сукні?" lists the dresses, instead of showing a random product.

A kind of garment (`KINDS`) is *sold* when an active product's category or name names it.
A kind the customer asks for that is not sold is out of the catalog, unless it is only a detail
of a kind that is sold ("піжама з шортами": a pyjama's description mentions shorts). The list is
read again when the catalog version moves, at most every `MAX_AGE` seconds (a product added a
few seconds ago may be missed by a kind question; never by retrieval or a card).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.dialog.words import has_stem, words

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.catalog.schemas import ProductBrief

MAX_AGE = 10.0
"""Seconds the list is kept after the catalog version moved before it is read again."""

# Kinds of things customers ask a clothing shop for: (the Ukrainian plural, stems).
KINDS: dict[str, tuple[str, ...]] = {
    "костюми": ("костюм", "suit$", "tracksuit", "комплект"),
    "худі": ("худі", "худи", "hoodie", "толстовк"),
    "світшоти": ("світшот", "свитшот", "світшот", "sweatshirt"),
    "футболки": ("футболк", "футболоч", "t-shirt", "tshirt", "tee$", "майк"),
    "сукні": ("сукн", "сукен", "плать", "платт", "dress"),
    "спідниці": ("спідниц", "юбк", "юбоч", "skirt"),
    "штани": ("штан", "брюк", "джогер", "джоггер", "палацо", "палаццо", "trousers", "pants"),
    "джинси": ("джинс", "jeans"),
    "куртки": ("куртк", "курточ", "бомбер", "пуховик", "jacket", "bomber"),
    "пальта": ("пальт", "тренч", "плащ", "coat", "trench"),
    "кардигани": ("кардиган", "кардіган", "кофт", "cardigan"),
    "сорочки": ("сорочк", "рубашк", "блуз", "shirt$", "blouse"),
    "піжами": ("піжам", "пижам", "pajama", "pyjama"),
    "светри": ("светр", "свитер", "джемпер", "sweater", "jumper"),
    "шапки": ("шапк", "шапоч", "hat$", "hats$", "beanie"),
    "кепки": ("кепк", "бейсболк", "панам", "cap$", "caps$"),
    "шарфи": ("шарф", "scarf", "scarves", "хустк", "платок", "платки"),
    "рукавички": ("рукавич", "рукавиц", "перчат", "glove"),
    "взуття": (
        "взутт",
        "обув",
        "кросів",
        "кросовк",
        "кроссовк",
        "кеди",
        "кеды",
        "черевик",
        "ботин",
        "чобіт",
        "чоботи",
        "сапог",
        "туфл",
        "босоніж",
        "босонож",
        "sneaker",
        "shoes",
        "boots",
    ),
    "сумки": ("сумк", "сумоч", "рюкзак", "bag$", "bags$", "backpack", "handbag"),
    "купальники": ("купальн", "плавк", "swimsuit", "bikini"),
    "окуляри": ("окуляр", "очки", "sunglass", "glasses"),
    "шорти": ("шорт", "shorts"),
    "краватки": ("краватк", "галстук", "necktie"),
    "шкарпетки": ("шкарпет", "носк", "носоч", "socks"),
    "білизна": ("білизн", "бюстгальт", "ліфчик", "трусик", "трусы", "белье", "underwear"),
    "прикраси": ("прикрас", "сережк", "серьги", "намист", "браслет", "jewel"),
    "ремені": ("ремін", "ремен", "ремня", "belt$"),
    "купальні халати": ("халат", "robe$", "bathrobe"),
}


def kinds_in(text: str) -> list[str]:
    """The kinds `text` names, in `KINDS` order."""
    found = words(text)
    return [kind for kind, stems in KINDS.items() if any(has_stem(found, s) for s in stems)]


@dataclass(frozen=True)
class Kinds:
    """What a message asks for, against what the shop sells."""

    sold: list[str]
    """Kinds named that the shop sells (e.g. "сукні")."""
    missing: list[str]
    """Kinds named that it does not sell, and that are no detail of a sold kind named."""


class Assortment:
    """The active catalog in kinds; loaded through `load`, refreshed with the catalog version."""

    def __init__(
        self,
        load: Callable[[], Awaitable[list[ProductBrief]]],
        version: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self._load = load
        self._version = version
        self._briefs: list[ProductBrief] = []
        self._kinds: dict[str, list[ProductBrief]] = {}
        self._loaded_for: int | None = None
        self._loaded_at = 0.0

    async def _fresh(self) -> None:
        version = await self._version() if self._version is not None else 0
        if self._loaded_for == version or (
            self._loaded_for is not None and time.monotonic() - self._loaded_at < MAX_AGE
        ):
            return
        briefs = await self._load()
        kinds: dict[str, list[ProductBrief]] = {}
        for brief in briefs:
            for kind in kinds_in(f"{brief.category} {brief.name}"):
                kinds.setdefault(kind, []).append(brief)
        self._briefs, self._kinds = briefs, kinds
        self._loaded_for, self._loaded_at = version, time.monotonic()

    async def categories(self) -> list[tuple[str, int]]:
        """(category, number of active products) in the catalog's order."""
        await self._fresh()
        counts: dict[str, int] = {}
        for brief in self._briefs:
            counts[brief.category] = counts.get(brief.category, 0) + 1
        return list(counts.items())

    async def of_kind(self, kind: str) -> list[ProductBrief]:
        """The active products of `kind`."""
        await self._fresh()
        return list(self._kinds.get(kind, []))

    async def read(self, text: str) -> Kinds:
        """Which kinds `text` names that the shop sells, and which it does not."""
        await self._fresh()
        named = kinds_in(text)
        sold = [k for k in named if k in self._kinds]
        missing = []
        for kind in (k for k in named if k not in self._kinds):
            # "піжама з шортами": shorts are a detail of a pyjama the shop sells.
            detail = any(
                any(has_stem(words(b.text), s) for s in KINDS[kind])
                for k in sold
                for b in self._kinds[k]
            )
            if not detail:
                missing.append(kind)
        return Kinds(sold, missing)
