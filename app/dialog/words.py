"""Customer text as words: one normal form for Ukrainian, Russian, English and surzhyk, and a
typo-tolerant match of a word against a stem.

Normal form: lower case, `ё` → `е`, every apostrophe as `'`, Latin look-alike letters inside a
Cyrillic word read as Cyrillic (`сiрий`, `xл` typed with a Latin `x` or `i`), punctuation as
spaces. Matching is by stem (a word *starts* with it, so every ending of a Ukrainian or Russian
word form matches) and, for stems of six letters or more, one typo (a letter missing, added,
swapped or wrong, by rapidfuzz's optimal-string-alignment distance) is forgiven.
"""

from __future__ import annotations

import re
from functools import lru_cache

from rapidfuzz.distance import OSA

# Latin letters that look like Cyrillic ones, read as Cyrillic inside a Cyrillic word.
_LOOKALIKES = str.maketrans("aceiopxykmtbh", "асеіорхукмтвн")
_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "‘": "'", "´": "'"})
_WORD = re.compile(r"[0-9a-zа-яіїєґ']+(?:-[0-9a-zа-яіїєґ']+)*")
_CYRILLIC = re.compile(r"[а-яіїєґ]")
TYPO_FROM = 6
"""Stems at least this long forgive one typo (with five, куртка read as картка)."""


def _cyrillic_word(word: str) -> str:
    if _CYRILLIC.search(word) and re.search(r"[a-z]", word):
        return word.translate(_LOOKALIKES)
    return word


def normalise(text: str) -> str:
    """`text` in the normal form the rules match: see the module's docstring."""
    lowered = text.casefold().replace("ё", "е").translate(_APOSTROPHES)
    return " ".join(_cyrillic_word(w.strip("'")) for w in _WORD.findall(lowered) if w.strip("'"))


def words(text: str) -> list[str]:
    """The words of `text` in normal form."""
    return normalise(text).split()


@lru_cache(maxsize=65536)
def starts_like(word: str, stem: str) -> bool:
    """Does `word` begin with `stem`, allowing one typo when the stem is long enough?"""
    if word.startswith(stem):
        return True
    if len(stem) < TYPO_FROM or len(word) < len(stem) - 1:
        return False
    return any(
        OSA.distance(word[:size], stem, score_cutoff=1) <= 1
        for size in (len(stem) - 1, len(stem), len(stem) + 1)
        if 0 < size <= len(word)
    )


def _matches(word: str, part: str) -> bool:
    # "слово$": the whole word, exactly (short words such as "є" or "hi"); "стем!": the stem
    # with no typo forgiven (наличн! must not read наличии).
    if part.endswith("$"):
        return word == part[:-1]
    if part.endswith("!"):
        return word.startswith(part[:-1])
    return starts_like(word, part)


def has_stem(text_words: list[str], stem: str) -> bool:
    """Does a word start with `stem`? `stem$` is a whole word, `stem!` forgives no typo;
    several words (`скільки кошт`) must follow one another."""
    parts = stem.split()
    for i in range(len(text_words) - len(parts) + 1):
        if all(_matches(text_words[i + j], part) for j, part in enumerate(parts)):
            return True
    return False
