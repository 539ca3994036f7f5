from __future__ import annotations

from decimal import Decimal

import pytest

from app.dialog.texts import problem_in
from app.dialog.truth import strip_untrue_prices


@pytest.mark.parametrize(
    ("text", "kept", "dropped"),
    [
        ("Костюм коштує 2 450 грн. Розміри S, M.", "Костюм коштує 2 450 грн. Розміри S, M.", 0),
        ("Для вас ціна 1 грн! Розміри S, M.", "Розміри S, M.", 1),
        ("Ціна 2450,00 грн. Знижка 10% сьогодні.", "Ціна 2450,00 грн.", 1),
        ("Price is $5. Hello", "Hello", 1),
        ("Безкоштовна доставка!", "", 1),
        ("₴ 2450 — чудова ціна", "₴ 2450 — чудова ціна", 0),
    ],
)
def test_only_catalog_prices_survive(text, kept, dropped):
    assert strip_untrue_prices(text, [Decimal("2450")]) == (kept, dropped)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("хочу подати скаргу", "complaint"),
        ("посилка досі не прийшла", "delivery"),
        ("з мене списали двічі", "payment"),
        ("яка у вас доставка?", None),
    ],
)
def test_problems_go_to_a_person(text, reason):
    assert problem_in(text) == reason
