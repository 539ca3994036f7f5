"""Sizes and colours in customer text, in Ukrainian, Russian and English, with their forms and
typos, matched against a product's own labels.

Colours: an adjective's ending is taken off (сірий, сіра, сірі, сірого → сір; серый, серые →
сер), the Russian and English names are mapped to the Ukrainian ones (серый → сірий, blue →
синій), and a stem of five letters or more forgives one typo (бежеви, оливковй). A colour the
lexicon does not know is still found by its own stem (пудровий, пудрова). Sizes: XS...XXXL in
Latin or Cyrillic letters and any case (хл, ХL, xl), 2XL-style, and numbers (30, 42-44) when the
product has that size. A lone Cyrillic "с", "м" or "л" is a size only when written as a capital,
after "розмір", or as the whole message: in lower case it is a preposition or a typo.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from rapidfuzz.distance import OSA

from app.dialog.words import normalise

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

# Endings of Ukrainian and Russian adjectives, longest first.
_ENDINGS = tuple(
    sorted(
        {
            "ього",
            "ьому",
            "ьою",
            "ого",
            "ому",
            "ими",
            "іми",
            "ою",
            "ої",
            "ий",
            "ій",
            "им",
            "ім",
            "их",
            "іх",
            "а",
            "я",
            "е",
            "є",
            "і",
            "у",
            "ю",
            "ый",
            "ой",
            "ая",
            "яя",
            "ое",
            "ее",
            "ые",
            "ие",
            "его",
            "ему",
            "ым",
            "ую",
            "юю",
            "ых",
            "ей",
        },
        key=len,
        reverse=True,
    )
)
# The Ukrainian colour each stem means; the first stem is the Ukrainian one.
COLOUR_STEMS: dict[str, tuple[str, ...]] = {
    "чорний": ("чорн", "черн", "black"),
    "білий": ("біл", "бел", "white"),
    "сірий": ("сір", "сер", "grey", "gray"),
    "синій": ("син", "blue", "navy"),
    "блакитний": ("блакитн", "голуб", "light blue", "sky"),
    "бежевий": ("бежев", "beige"),
    "молочний": ("молочн", "кремов", "milk", "cream", "ivory"),
    "рожевий": ("рожев", "розов", "pink"),
    "пудровий": ("пудров", "powder"),
    "графітовий": ("графітов", "графитов", "graphite", "charcoal"),
    "оливковий": ("оливков", "olive", "khaki", "хакі", "хаки"),
    "бордовий": ("бордов", "бордо", "burgundy", "wine"),
    "жовтий": ("жовт", "желт", "yellow"),
    "червоний": ("червон", "красн", "red"),
    "зелений": ("зелен", "green"),
    "гірчичний": ("гірчичн", "горчичн", "mustard"),
    "смарагдовий": ("смарагдов", "изумрудн", "emerald"),
    "коричневий": ("коричнев", "brown"),
    "фіолетовий": ("фіолетов", "фиолетов", "purple", "violet"),
    "помаранчевий": ("помаранчев", "оранжев", "orange"),
}
_LETTERS = ("xxxs", "xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "xxxxl")
# Cyrillic spellings of letter sizes: "хл", "ххл", "эс", "эмка".
_CYRILLIC_SIZE = str.maketrans({"х": "x", "с": "s", "м": "m", "л": "l", "к": "", "а": ""})
_SPOKEN = {"ес": "s", "эс": "s", "ем": "m", "эм": "m", "ел": "l", "эл": "l", "емка": "m"}
_SIZE_AFTER = ("розмір", "размер", "size", "р$", "розм")
_NUMBER = re.compile(r"^\d{2,3}(?:[-–/]\d{2,3})?$")
_TOKEN = re.compile(r"[0-9a-zа-яіїєґ]+(?:[-–/][0-9a-zа-яіїєґ]+)*", re.IGNORECASE)


def stem(word: str) -> str:
    """`word` without its adjective ending (at least three letters stay)."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            return word[: -len(ending)]
    return word


@lru_cache(maxsize=4096)
def colour_stems(label: str) -> tuple[str, ...]:
    """Every stem that names the catalog colour `label` (its own, and the lexicon's)."""
    normal = normalise(label)
    own = " ".join(stem(w) for w in normal.split())
    found = [own]
    for canonical, stems in COLOUR_STEMS.items():
        if stem(canonical) == own or own in stems:
            found += [s for s in stems if s not in found]
    return tuple(found)


def _word_is(word_stem: str, wanted: str) -> bool:
    if word_stem == wanted or (word_stem.startswith(wanted) and len(wanted) >= 4):
        return True
    return len(wanted) >= 5 and OSA.distance(word_stem, wanted, score_cutoff=1) <= 1


def colours_in(text: str, labels: Iterable[str]) -> list[str]:
    """The colours of `labels` (a product's colours) that `text` names, in the text's order."""
    text_words = normalise(text).split()
    stems = [stem(w) for w in text_words]
    found: list[tuple[int, str]] = []
    for label in labels:
        for wanted in colour_stems(label):
            parts = wanted.split()
            hit = next(
                (
                    i
                    for i in range(len(stems) - len(parts) + 1)
                    if all(_word_is(stems[i + j], p) for j, p in enumerate(parts))
                ),
                None,
            )
            if hit is not None:
                found.append((hit, label))
                break
    return [label for _, label in sorted(found)]


def _letter_size(token: str, original: str, previous: str | None, alone: bool) -> str | None:
    """The Latin letter size a token spells (e.g. "XL"), or None."""
    lowered = token.casefold()
    if lowered in _SPOKEN:
        return _SPOKEN[lowered].upper()
    match = re.fullmatch(r"([2-5])x?[lл]", lowered)
    if match:  # 2XL, 3xl → XXL, XXXL
        return "X" * int(match.group(1)) + "L"
    if re.fullmatch(r"[a-z]+", lowered):
        return lowered.upper() if lowered in _LETTERS else None
    if not re.fullmatch(r"[хсмлxslmк]+", lowered):
        return None
    latin = lowered.translate(_CYRILLIC_SIZE)
    if latin not in _LETTERS:
        return None
    if len(lowered) == 1 and not (original.isupper() or alone or previous in _SIZE_AFTER):
        return None  # "с", "м", "л" in lower case: a preposition, not a size
    return latin.upper()


def size_mentions(text: str) -> list[str]:
    """Sizes `text` names, as written in catalogs: "XL", "M", "30", "42-44"."""
    tokens = _TOKEN.findall(text)
    found: list[str] = []
    for index, original in enumerate(tokens):
        token = original.replace("–", "-").replace("/", "-")
        previous = normalise(tokens[index - 1]) if index else None
        if previous is not None and previous.startswith(("розм", "разм")):
            previous = "розмір"
        if _NUMBER.fullmatch(token):
            found.append(token)
            continue
        letter = _letter_size(token, original, previous, alone=len(tokens) == 1)
        if letter is not None:
            found.append(letter)
    return found


def _size_key(label: str) -> str:
    return label.casefold().replace("–", "-").replace("/", "-").replace(" ", "")


def sizes_in(text: str, labels: Sequence[str]) -> list[str]:
    """The sizes of `labels` (a product's sizes) that `text` names, in the text's order.

    A range ("42-44") is the product's size of that name, else each of its ends it has.
    """
    keys = {_size_key(label): label for label in labels}
    found: list[str] = []
    for mention in size_mentions(text):
        key = _size_key(mention)
        candidates = [key] if key in keys or "-" not in key else key.split("-")
        for candidate in candidates:
            label = keys.get(candidate)
            if label is not None and label not in found:
                found.append(label)
    return found
