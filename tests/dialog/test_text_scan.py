"""No Latin letters inside Cyrillic words in anything the bot can say: every string literal of
the code that builds replies is scanned (a Latin "e" in "іншe" reached a button once)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

APP = Path(__file__).resolve().parents[2] / "app"
# Where customer- and manager-facing text is written. The text readers (words.py, variants.py)
# hold Latin look-alikes and regex classes on purpose: they read typos, they never reply.
SPEAKERS = ("dialog", "bot", "shop", "orders", "catalog", "notices", "admin", "alerts")
READERS = {APP / "dialog" / "words.py", APP / "dialog" / "variants.py"}
WORD = re.compile(r"[^\W\d_]+")
LATIN, CYRILLIC = re.compile(r"[a-zA-Z]"), re.compile(r"[а-яА-ЯіїєґІЇЄҐ]")


def mixed_words(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += [w for w in WORD.findall(node.value) if LATIN.search(w) and CYRILLIC.search(w)]
    return found


def test_the_scan_finds_a_latin_letter_inside_a_cyrillic_word():
    assert mixed_words('label = ("Ні, іншe — покликати менеджера", "h")') == ["іншe"]
    assert mixed_words('"Ціна:\\nЄ розміри", "Telegram", "XL"') == []


def test_no_reply_text_mixes_latin_and_cyrillic_letters_in_a_word():
    files = [
        path
        for part in SPEAKERS
        for path in sorted((APP / part).rglob("*.py"))
        if path not in READERS
    ]
    assert len(files) > 20
    offenders = {
        str(path.relative_to(APP)): words
        for path in files
        if (words := mixed_words(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}
