from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.catalog.schemas import Product, Variant
from app.rag.context import build_context


def card(n: int, *, long: bool = False) -> Product:
    return Product(
        sku=f"KR-KS-{n:03d}",
        name=f"Костюм «Мрія {n}»",
        category="костюми",
        price=Decimal("2450.00"),
        in_stock=True,
        active=True,
        description="Плюшевий костюм.",
        sizes=["S", "M", "L"],
        colours=["рожевий", "бежевий"],
        variants=[
            Variant(size="S", colour="рожевий", available=0),
            Variant(size="M", colour="бежевий", available=3),
        ],
        visual_features=("Пухнаста плюшева тканина з ворсом. " * (20 if long else 1)).strip(),
        recognition_tips="Має капюшон і блискавку.",
        tags=["плюш"],
        photos=[],
        updated_at=datetime(2026, 11, 24, tzinfo=UTC),
    )


def test_a_product_line_has_sku_name_price_colours_and_sizes_in_stock():
    context = build_context([card(1)])

    first = context.splitlines()[0]
    assert (
        first == "[KR-KS-001] Костюм «Мрія 1» — 2450 грн; кольори: рожевий, бежевий; в наявності: M"
    )
    assert "вигляд: Пухнаста" in context
    assert "відмінність: Має капюшон" in context


def test_long_visual_features_are_clipped():
    context = build_context([card(1, long=True)])

    assert max(len(line) for line in context.splitlines()) < 200
    assert "…" in context


@pytest.mark.parametrize("count", [0, 1, 10, 1_000, 100_000])
def test_context_never_exceeds_the_bound(count):
    cards = [card(1, long=True)] * count

    context = build_context(cards)

    assert len(context) <= 2000
    assert (context == "") == (count == 0)


def test_a_tiny_bound_still_gives_the_best_product_clipped():
    context = build_context([card(1)], max_chars=30)

    assert len(context) <= 30
    assert context.startswith("[KR-KS-001]")
