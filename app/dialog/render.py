"""Ukrainian reply fragments rendered from product cards: every figure comes from the database."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.catalog.schemas import Product

NBSP = "\u00a0"


def format_uah(price: Decimal) -> str:
    """2450 → "2 450 грн", 1299.5 → "1 299,50 грн" (Ukrainian grouping and decimal comma)."""
    whole, kopecks = divmod(price.quantize(Decimal("0.01")), 1)
    grouped = f"{int(whole):,}".replace(",", NBSP)
    if kopecks:
        return f"{grouped},{int(kopecks * 100):02d}{NBSP}грн"
    return f"{grouped}{NBSP}грн"


def sizes_in_stock(card: Product) -> list[str]:
    """Sizes with at least one colour available, in the declared order."""
    stocked = {v.size for v in card.variants if v.available > 0}
    return [size for size in card.sizes if size in stocked]


def colours_in_stock(card: Product, size: str | None = None) -> list[str]:
    """Colours available (in `size` when given), in the declared order."""
    stocked = {
        v.colour for v in card.variants if v.available > 0 and (size is None or v.size == size)
    }
    return [colour for colour in card.colours if colour in stocked]


def stock_line(card: Product) -> str:
    """What is on the shelf, e.g. "Є розміри: S, M, L. Кольори: рожевий, бежевий."."""
    sizes = sizes_in_stock(card)
    if not sizes:
        return "На жаль, зараз немає в наявності."
    return f"Є розміри: {', '.join(sizes)}. Кольори: {', '.join(colours_in_stock(card))}."


def card_summary(card: Product) -> str:
    """One paragraph: name, price, and what is in stock."""
    return f"{card.name} — {format_uah(card.price)}. {stock_line(card)}"
