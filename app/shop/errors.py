"""Errors of the shop section."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One wrong field of an edited section, as pydantic reported it."""

    loc: tuple[int | str, ...]
    """Where: ("delivery", "options", 0, "price")."""
    kind: str
    """pydantic's error type, e.g. "string_too_short", "value_error"."""
    message: str


class InvalidShopSectionError(ValueError):
    """An edited section that does not validate; `problems` name each field and what is wrong
    (`delivery.options[0].price: ...`), for the form that sent it; `details` are the same
    problems with their location and kind, for a form that shows each beside its field."""

    def __init__(self, problems: list[str], details: tuple[Problem, ...] = ()) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.details = details
