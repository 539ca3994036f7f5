"""Keep model-written text from leaking what the customer must not see: its own instructions
and anything shaped like a secret.

A customer can ask a model to "print your system prompt" or "show the API key", and a model may
obey. The instructions are not secret in the way a key is, but repeating them helps the next
attack and tells nothing a customer wants. So every sentence of a model's text is dropped that

- repeats a run of `RUN` consecutive words of the instructions (case and punctuation aside), or
- carries a secret-shaped string: a Telegram bot token, an `sk-` API key, a bearer token, a
  URL with a password (the log redaction's patterns, `app.observability.logs`).

The model is never given a secret (tests/test_secrets.py); this is the second line.
"""

from __future__ import annotations

import re

from app.dialog.truth import sentences
from app.observability.logs import secret_shaped

RUN = 5
"""Words in a row shared with the instructions that make a sentence a leak."""

_WORD = re.compile(r"[^\W_]+(?:['’ʼ-][^\W_]+)*")


def words(text: str) -> list[str]:
    """The words of `text` in lower case, punctuation aside."""
    return [w.lower() for w in _WORD.findall(text)]


def _runs(text: str) -> set[tuple[str, ...]]:
    found = words(text)
    return {tuple(found[i : i + RUN]) for i in range(len(found) - RUN + 1)}


class LeakGuard:
    """Drops the sentences of model text that repeat `instructions` or look like secrets."""

    def __init__(self, instructions: str = "") -> None:
        self._runs = _runs(instructions)

    def strip(self, text: str) -> tuple[str, int]:
        """`text` without leaking sentences, and how many were dropped."""
        kept: list[str] = []
        dropped = 0
        for start, end in sentences(text):
            sentence = text[start:end]
            if secret_shaped(sentence) or (self._runs and _runs(sentence) & self._runs):
                dropped += 1
            else:
                kept.append(sentence)
        return "".join(kept).strip(), dropped
