"""Errors of the shop section."""

from __future__ import annotations


class InvalidShopSectionError(ValueError):
    """An edited section that does not validate; `problems` name each field and what is wrong
    (`delivery.options[0].price: ...`), for the form that sent it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
