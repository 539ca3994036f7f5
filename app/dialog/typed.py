"""Typed answers to the buttons last shown: "M", "чорний", "так", "перший", "друге", "нова
пошта" act like pressing the button they name.

The session remembers the buttons of the bot's last message that had any (label and callback
data). A message is a typed answer when, once courtesy words are set aside, it is short, asks
nothing ("а чорний є?" is a question, answered as one) and names exactly one button: by its
label, a size or colour it stands for, its position ("другий", "2"), or yes/no for a question
whose buttons say so. The conversation then presses that button: one code path for both.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from app.dialog.variants import colours_in, size_mentions
from app.dialog.words import has_stem, normalise

if TYPE_CHECKING:
    from collections.abc import Sequence

Choice = tuple[str, str]
"""(label, callback data) of one button."""

MAX_WORDS = 4
# Words that do not change which button is meant.
_COURTESY = frozenset(
    [
        "будь",
        "ласка",
        "пожалуйста",
        "please",
        "мені",
        "мне",
        "давайте",
        "давай",
        "хочу",
        "хотіла",
        "хотів",
        "хотела",
        "хотел",
        "візьму",
        "возьму",
        "беру",
        "take",
        "i'd",
        "like",
        "the",
        "a",
        "розмір",
        "розміру",
        "размер",
        "size",
        "колір",
        "кольору",
        "цвет",
        "цвета",
        "color",
        "colour",
        "варіант",
        "вариант",
        "option",
        "ну",
        "ок",
        "ok",
        "окей",
        "ось",
        "от",
        "вот",
        "той",
        "тот",
        "цей",
        "этот",
        "ця",
        "эта",
        "мабуть",
        "наверное",
        "напевно",
        "будь-ласка",
        "плз",
        "плиз",
        "pls",
        "в",
        "у",
    ]
)
_ORDINALS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (0, ("перш", "перв", "first", "1-й", "1-ий", "1-а", "1-е")),
    (1, ("друг", "втор", "second", "2-й", "2-ий", "2-а", "2-е")),
    (2, ("трет", "third", "3-й", "3-ій", "3-а", "3-е")),
    (3, ("четверт", "четвёрт", "fourth")),
    (4, ("п'ят", "пят", "fifth")),
    (-1, ("останн", "последн", "last")),
)
YES = frozenset(
    [
        "так",
        "да",
        "ага",
        "угу",
        "yes",
        "yep",
        "yeah",
        "sure",
        "ok",
        "ок",
        "окей",
        "звісно",
        "авжеж",
        "точно",
        "вірно",
        "правильно",
        "згоден",
        "згодна",
        "підтверджую",
        "подтверждаю",
        "це",
        "воно",
        "оно",
    ]
)
NO = frozenset(["ні", "нет", "неа", "no", "nope", "не"])
_EMOJI = re.compile(r"^[^\w«\"']+", re.UNICODE)


def _label_words(label: str) -> str:
    """A button's label without its emoji and price: "🛒 Замовити" → "замовити"."""
    text = _EMOJI.sub("", label).split(" — ")[0]
    return normalise(text)


def _meaningful(text: str) -> list[str]:
    return [w for w in normalise(text).split() if w not in _COURTESY]


def match(text: str, choices: Sequence[Choice]) -> str | None:
    """The callback data of the one button `text` names, or None (see the module docstring)."""
    if not choices or "?" in text:
        return None
    rest = _meaningful(text)
    if not rest or len(rest) > MAX_WORDS:
        return None
    labels = [_label_words(label) for label, _ in choices]
    said = " ".join(rest)
    exact = [data for (_, data), label in zip(choices, labels, strict=True) if label == said]
    if len(exact) == 1:
        return exact[0]
    sizes = {m.casefold() for m in size_mentions(text)}
    by_size = [data for (_, data), label in zip(choices, labels, strict=True) if label in sizes]
    if len(by_size) == 1 and len(sizes) == 1:
        return by_size[0]
    colours = colours_in(text, [label for label, _ in choices])
    if len(colours) == 1:
        return next(data for label, data in choices if label == colours[0])
    position = _position(rest, len(choices))
    if position is not None:
        return choices[position][1]
    answer = _yes_no(rest, choices)
    if answer is not None:
        return answer
    # A distinctive word of one label: "пошта" → "🚚 Нова Пошта", "менеджер" → "👩‍💼 Менеджер".
    named = [
        data
        for (_, data), label in zip(choices, labels, strict=True)
        if any(len(w) >= 4 and has_stem(label.split(), w) for w in rest)
    ]
    return named[0] if len(named) == 1 else None


def _position(rest: list[str], count: int) -> int | None:
    if len(rest) == 1 and rest[0].isdigit():
        number = int(rest[0])
        return number - 1 if 1 <= number <= count else None
    for index, stems in _ORDINALS:
        if any(has_stem(rest, stem) for stem in stems):
            resolved = index if index >= 0 else count - 1
            return resolved if resolved < count else None
    return None


def _yes_no(rest: list[str], choices: Sequence[Choice]) -> str | None:
    words = set(rest)
    if words & NO:
        found = [d for label, d in choices if _EMOJI.sub("", label).casefold().startswith("ні")]
        return found[0] if len(found) == 1 else None
    if words <= YES:
        found = [
            data
            for label, data in choices
            if label.startswith("✅") or _EMOJI.sub("", label).casefold().startswith("так")
        ]
        return found[0] if len(found) == 1 else None
    return None
