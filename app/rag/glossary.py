"""Clothing words of English and Russian requests → the Ukrainian words a catalog uses.

The hashing embedder matches shared letters, so "trousers" and "штани", or "платье" and
"сукня", share nothing. `retrieve()` adds this glossary's Ukrainian words to a request before
it is embedded and searched in full text (the catalog's own texts are embedded as they are).
It holds the shop's domain only: kinds of garment, fabrics, patterns, details, fits, colours
and seasons; never product names (a shop names its products as it likes, and those are
matched as written or transliterated).

English keys are matched as written, or as their plural ("dresses", "jeans"); Russian keys are
stems, matched by any word that starts with one and adds at most MAX_ENDING letters (the
inflections: "платье", "платья", "платьем"). Keys are folded like the embedder's words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.rag.embedders import fold, words

if TYPE_CHECKING:
    from collections.abc import Iterable

MAX_ENDING = 4
"""Letters a Russian word may add to a stem of the glossary (case and number endings)."""
MIN_STEM = 4
"""Shorter keys ("лен") match only the whole word: as stems they would match too much."""

# Pairs of English words read as one ("t-shirt" is split at its hyphen before this).
_EN_PHRASES = {
    "t shirt": "футболка",
    "tee shirt": "футболка",
    "long sleeve": "лонгслів довгий рукав",
    "wide leg": "широкі",
    "high waist": "висока посадка",
    "v neck": "v-виріз",
    "polka dot": "горошок",
    "polka dots": "горошок",
    "light blue": "блакитний",
    "sky blue": "блакитний",
    "down jacket": "пуховик",
    "puffer jacket": "пуховик",
    "track suit": "спортивний костюм",
    "trench coat": "тренч пальто",
}

_EN = {
    # Kinds of garment.
    "tshirt": "футболка",
    "tee": "футболка",
    "top": "топ",
    "shirt": "сорочка",
    "blouse": "блуза сорочка",
    "sweatshirt": "світшот",
    "crewneck": "світшот",
    "hoodie": "худі",
    "hoody": "худі",
    "sweater": "светр",
    "jumper": "светр",
    "pullover": "светр",
    "cardigan": "кардиган",
    "longsleeve": "лонгслів",
    "jacket": "куртка жакет",
    "bomber": "бомбер",
    "puffer": "пуховик",
    "parka": "парка куртка",
    "coat": "пальто",
    "trench": "тренч",
    "raincoat": "плащ",
    "vest": "жилет",
    "gilet": "жилет",
    "dress": "сукня",
    "sundress": "сарафан сукня",
    "skirt": "спідниця",
    "trousers": "штани",
    "pants": "штани",
    "slacks": "штани",
    "joggers": "джогери штани",
    "sweatpants": "джогери штани",
    "leggings": "легінси",
    "jeans": "джинси",
    "denim": "джинс джинсова",
    "shorts": "шорти",
    "suit": "костюм",
    "tracksuit": "спортивний костюм",
    "set": "костюм комплект",
    "pyjamas": "піжама",
    "pajamas": "піжама",
    "pyjama": "піжама",
    "pajama": "піжама",
    "pjs": "піжама",
    "jumpsuit": "комбінезон",
    "overalls": "комбінезон",
    # Fabrics.
    "cotton": "бавовна",
    "linen": "льон лляні",
    "wool": "вовна вовняне",
    "woolen": "вовна вовняне",
    "woollen": "вовна вовняне",
    "cashmere": "кашемір",
    "silk": "шовк",
    "satin": "сатин атлас",
    "velour": "велюр",
    "velvet": "велюр оксамит",
    "corduroy": "вельвет",
    "plush": "плюш",
    "fleece": "фліс начіс",
    "flannel": "фланель",
    "knit": "вязаний трикотаж",
    "knitted": "вязаний трикотаж",
    "jersey": "трикотаж",
    "viscose": "віскоза",
    "leather": "шкіра",
    "teddy": "тедді",
    # Patterns and prints.
    "striped": "смужка",
    "stripe": "смужка",
    "stripes": "смужка",
    "checked": "клітинка",
    "check": "клітинка",
    "checkered": "клітинка",
    "plaid": "клітинка шотландка",
    "tartan": "клітинка шотландка",
    "dotted": "горошок",
    "dots": "горошок",
    "floral": "квітковий квіти",
    "print": "принт",
    "printed": "принт",
    "logo": "логотип",
    "lettering": "напис",
    "embroidered": "вишивка вишитий",
    "plain": "однотонний базовий",
    "basic": "базовий",
    # Details and cuts.
    "hood": "капюшон",
    "hooded": "капюшон",
    "zip": "блискавка",
    "zipper": "блискавка",
    "zipped": "блискавка",
    "pocket": "кишеня",
    "pockets": "кишені",
    "button": "ґудзики",
    "buttons": "ґудзики",
    "buttoned": "ґудзики",
    "collar": "комір",
    "belt": "пояс",
    "sleeve": "рукав",
    "sleeves": "рукав",
    "sleeveless": "без рукавів",
    "pleated": "плісе",
    "quilted": "стьобаний",
    "padded": "утеплювач стьобаний",
    "cuffs": "манжети",
    "ribbed": "рубчик",
    "stripes side": "лампаси",
    "oversized": "оверсайз",
    "oversize": "оверсайз",
    "wide": "широкі",
    "loose": "вільний широкі",
    "straight": "прямі",
    "long": "довгий",
    "short": "короткий",
    "midi": "міді",
    "mini": "міні",
    "maxi": "максі",
    "classic": "класика класичний",
    "warm": "теплий",
    "light": "легкий",
    "thin": "тонкий",
    "sport": "спорт спортивний",
    "sports": "спорт спортивний",
    "winter": "зима зимовий",
    "summer": "літо літній",
    "spring": "весна",
    "autumn": "осінь",
    "fall": "осінь",
    "office": "офіс",
    # Colours.
    "black": "чорний",
    "white": "білий",
    "grey": "сірий",
    "gray": "сірий",
    "blue": "синій",
    "navy": "темно-синій",
    "red": "червоний",
    "pink": "рожевий",
    "green": "зелений",
    "olive": "оливковий",
    "beige": "бежевий",
    "brown": "коричневий",
    "yellow": "жовтий",
    "orange": "помаранчевий",
    "purple": "фіолетовий",
    "violet": "фіолетовий",
    "burgundy": "бордовий",
    "cream": "молочний",
    "milky": "молочний",
    "mustard": "гірчичний",
    "graphite": "графітовий",
    "emerald": "смарагдовий",
}

# Russian stems whose Ukrainian word differs (the same or near-same words need nothing).
_RU = {
    "футболк": "футболка",
    "рубашк": "сорочка",
    "блузк": "блуза",
    "толстовк": "світшот худі",
    "свитер": "светр",
    "кофт": "кофта кардиган",
    "плать": "сукня",
    "сарафан": "сарафан сукня",
    "юбк": "спідниця",
    "брюк": "штани",
    "штан": "штани",
    "шорт": "шорти",
    "пижам": "піжама",
    "пиджак": "піджак жакет",
    "пуховик": "пуховик",
    "плащ": "плащ тренч",
    "хлоп": "бавовна",
    "лен": "льон",
    "льнян": "льон лляні",
    "шерст": "вовна",
    "шелк": "шовк",
    "бархат": "велюр оксамит",
    "полос": "смужка",
    "клетк": "клітинка",
    "клетчат": "клітинка",
    "горош": "горошок",
    "молни": "блискавка",
    "пуговиц": "ґудзики",
    "карман": "кишеня",
    "воротник": "комір",
    "рукав": "рукав",
    "стеган": "стьобаний",
    "вязан": "вязаний",
    "тепл": "теплий",
    "легк": "легкий",
    "длинн": "довгий",
    "широк": "широкі",
    "черн": "чорний",
    "белы": "білий",
    "бела": "білий",
    "бело": "білий",
    "серый": "сірий",
    "серая": "сірий",
    "серое": "сірий",
    "серые": "сірий",
    "красн": "червоний",
    "розов": "рожевий",
    "голуб": "блакитний",
    "зелен": "зелений",
    "желт": "жовтий",
    "коричнев": "коричневий",
    "бордов": "бордовий",
    "молочн": "молочний",
}


def _folded(table: dict[str, str]) -> dict[str, tuple[str, ...]]:
    return {fold(key): tuple(value.split()) for key, value in table.items()}


_PHRASES = _folded(_EN_PHRASES)
_ENGLISH = _folded(_EN)
_RUSSIAN = _folded(_RU)
_LONGEST_STEM = max(len(k) for k in _RUSSIAN)


def _word(word: str) -> tuple[str, ...]:
    found = _ENGLISH.get(word)
    if found is None and len(word) > 3 and word.endswith("s"):
        found = _ENGLISH.get(word[:-1]) or _ENGLISH.get(word[:-2])
    if found is not None:
        return found
    lowest = max(MIN_STEM, len(word) - MAX_ENDING)
    for cut in range(min(len(word), _LONGEST_STEM), lowest - 1, -1):
        stem = _RUSSIAN.get(word[:cut])
        if stem is not None:
            return stem
    return _RUSSIAN.get(word, ())


def translate(words: Iterable[str]) -> list[str]:
    """The Ukrainian words the glossary gives for `words` (the embedder's folded words, in
    order), phrases first: "t shirt" gives "футболка", not "сорочка" for "shirt"."""
    given = list(words)
    out: list[str] = []
    skip = False
    for i, word in enumerate(given):
        if skip:
            skip = False
            continue
        pair = _PHRASES.get(f"{word} {given[i + 1]}") if i + 1 < len(given) else None
        if pair is not None:
            out += pair
            skip = True
        else:
            out += _word(word)
    return out


def expand(query: str) -> str:
    """`query` with the Ukrainian words of its English and Russian clothing words appended
    (each once, in order); `query` itself when there are none."""
    added = [
        w for w in dict.fromkeys(translate(words(query))) if w.casefold() not in query.casefold()
    ]
    return f"{query} {' '.join(added)}" if added else query
