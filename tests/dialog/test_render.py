from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.catalog.schemas import Product, Variant
from app.dialog.render import card_summary, colours_in_stock, format_uah, sizes_in_stock


def card(**stock: int) -> Product:
    """A card with sizes S, M, L and colours чорний, білий; `stock` like S_чорний=2."""
    variants = [
        Variant(size=s, colour=c, available=stock.get(f"{s}_{c}", 0))
        for s in ("S", "M", "L")
        for c in ("чорний", "білий")
    ]
    return Product(
        sku="KR-T-1",
        name="Футболка «Базова»",
        category="футболки",
        price=Decimal("1299.50"),
        in_stock=any(v.available for v in variants),
        active=True,
        description="",
        sizes=["S", "M", "L"],
        colours=["чорний", "білий"],
        variants=variants,
        visual_features="",
        recognition_tips="",
        tags=[],
        photos=[],
        updated_at=datetime(2026, 11, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize(
    ("price", "shown"),
    [
        ("450", "450 грн"),
        ("2450.00", "2 450 грн"),
        ("1299.5", "1 299,50 грн"),
        ("12345678.09", "12 345 678,09 грн"),
    ],
)
def test_prices_are_written_the_ukrainian_way(price, shown):
    assert format_uah(Decimal(price)).replace("\u00a0", " ") == shown


def test_only_variants_in_stock_are_offered_in_declared_order():
    product = card(L_білий=1, S_чорний=2)
    assert sizes_in_stock(product) == ["S", "L"]
    assert colours_in_stock(product) == ["чорний", "білий"]
    assert colours_in_stock(product, "L") == ["білий"]


def test_a_sold_out_card_says_so():
    assert "немає в наявності" in card_summary(card())
    assert "1\u00a0299,50\u00a0грн" in card_summary(card(M_білий=1))
