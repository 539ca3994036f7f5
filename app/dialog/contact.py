"""The contact step read from typed text: "Петро, 067 123 45 67" in one line, a name alone, a
phone alone, or a number too short to be a phone ("Петро, 123")."""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.dialog.assortment import kinds_in
from app.dialog.intents import classify
from app.dialog.texts import PHONE
from app.dialog.typed import NO, YES

_NAME_WORD = re.compile(r"[^\W\d_][\w'’ʼ-]*")
_DIGITS = re.compile(r"\d[\d\s()+\-]*\d|\d")


@dataclass(frozen=True)
class Typed:
    """What a message at the contact step holds."""

    name: str | None
    phone: str | None
    short_number: bool = False
    """Digits that are not a whole phone number ("Петро, 123")."""


def looks_like_name(text: str) -> bool:
    """One to three words of letters that say nothing else (no intent, product or yes/no)."""
    parts = text.split()
    if not 1 <= len(parts) <= 3 or not all(_NAME_WORD.fullmatch(p) for p in parts):
        return False
    if {p.casefold() for p in parts} & (YES | NO):
        return False
    reading = classify(text)
    return (
        reading.intent == "other"
        and not reading.greets
        and not reading.thanks
        and (not any(reading.cues.values()) and not kinds_in(text))
    )


def _tidy(name: str) -> str:
    return " ".join(p[:1].upper() + p[1:] for p in name.split())


def read_contact(text: str) -> Typed | None:
    """The name and phone in `text`, or None when it is not a contact at all (a question)."""
    phone = PHONE.search(text)
    rest = text if phone is None else text[: phone.start()] + " " + text[phone.end() :]
    rest = rest.strip(" ,.;:-–—\t")
    if phone is not None:
        return Typed(_tidy(rest) if looks_like_name(rest) else None, phone.group(0))
    digits = _DIGITS.search(rest)
    if digits is not None:
        name = (rest[: digits.start()] + rest[digits.end() :]).strip(" ,.;:-–—\t")
        if looks_like_name(name) or not name:
            return Typed(_tidy(name) if name else None, None, short_number=True)
        return None
    return Typed(_tidy(rest), None) if looks_like_name(rest) else None
