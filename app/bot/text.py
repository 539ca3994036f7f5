"""Telegram text limits: measuring as Telegram does and splitting long replies into messages.

Telegram caps a message at 4096 and a caption at 1024 characters, counted in UTF-16 code units
(an emoji outside the Basic Multilingual Plane counts 2), after HTML is parsed. `split_message`
measures the raw text, tags and entities included: a little stricter than Telegram, never over.
"""

from __future__ import annotations

import re
from itertools import accumulate

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# A tag or an entity: the atoms a cut must not fall inside.
_ATOM = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^<>]*>|&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
# Cut preferences, best first: each a separator the piece ends before and the next skips.
_SEPARATORS = (re.compile(r"\n{2,}"), re.compile(r"\n"), re.compile(r"[ \t]+"))


def telegram_length(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = TEXT_LIMIT, *, html: bool = False) -> list[str]:
    """`text` cut into pieces of at most `limit` UTF-16 code units, in order.

    Cuts at paragraph breaks, else line breaks, else spaces; only a single word longer than the
    limit is cut mid-word. With `html=True` no cut falls inside a tag or an entity, and a tag
    left open at a cut is closed at the end of its piece and reopened at the start of the next,
    so every piece is valid Telegram HTML. Whitespace-only pieces are dropped.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    units = [0, *accumulate(2 if ord(c) > 0xFFFF else 1 for c in text)]
    safe, stacks = _structure(text, html=html)
    pieces: list[str] = []
    reopen: tuple[str, ...] = ()
    start = 0
    while start < len(text):
        prefix = "".join(reopen)
        if telegram_length(prefix) + units[-1] - units[start] <= limit:
            pieces.append(prefix + text[start:])
            break
        cut, resume = _best_cut(text, start, limit - telegram_length(prefix), units, safe, stacks)
        pieces.append(prefix + text[start:cut] + _closers(stacks[cut]))
        reopen = stacks[cut]
        start = resume
    return [piece for piece in pieces if (_visible(piece) if html else piece).strip()]


def _structure(text: str, *, html: bool) -> tuple[list[bool], list[tuple[str, ...]]]:
    """For every position 0..len(text): may a cut fall there, and which tags are open there."""
    size = len(text)
    safe = [True] * (size + 1)
    stacks: list[tuple[str, ...]] = [()] * (size + 1)
    if not html:
        return safe, stacks
    stack: tuple[str, ...] = ()
    position = 0
    for match in _ATOM.finditer(text):
        for i in range(position, match.start() + 1):
            stacks[i] = stack
        for i in range(match.start() + 1, match.end()):
            safe[i] = False
        closing, name = match.group(1), match.group(2)
        if name is not None:
            if not closing:
                stack = (*stack, match.group(0))
            else:
                # Pop up to the matching opener; a stray closer leaves the stack alone.
                names = [_tag_name(opener) for opener in stack]
                if name.lower() in names:
                    stack = stack[: len(names) - 1 - names[::-1].index(name.lower())]
        position = match.end()
    for i in range(position, size + 1):
        stacks[i] = stack
    return safe, stacks


def _best_cut(
    text: str,
    start: int,
    budget: int,
    units: list[int],
    safe: list[bool],
    stacks: list[tuple[str, ...]],
) -> tuple[int, int]:
    """Where the piece starting at `start` ends, and where the next one starts."""

    def fits(end: int) -> bool:
        return units[end] - units[start] + telegram_length(_closers(stacks[end])) <= budget

    # The furthest end within budget, ignoring closers; the candidates are at or before it.
    furthest = start
    while furthest < len(text) and units[furthest + 1] - units[start] <= budget:
        furthest += 1
    window = text[start : furthest + 1]
    for separator in _SEPARATORS:
        for match in reversed(list(separator.finditer(window))):
            end, resume = start + match.start(), start + match.end()
            if end > start and safe[end] and fits(end):
                # The separator run may go on past the window: the next piece skips all of it.
                while resume < len(text) and text[resume] in " \t\n":
                    resume += 1
                return end, resume
    for end in range(furthest, start, -1):
        if safe[end] and fits(end):
            return end, end
    raise ValueError(f"limit {budget} is too small for the tags open at position {start}")


def _tag_name(opener: str) -> str:
    return re.split(r"[\s>]", opener[1:], maxsplit=1)[0].lower()


def _closers(stack: tuple[str, ...]) -> str:
    return "".join(f"</{_tag_name(opener)}>" for opener in reversed(stack))


def _visible(piece: str) -> str:
    return _ATOM.sub(lambda m: "" if m.group(2) else "x", piece)
