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


def _listed(values: list[str]) -> str:
    return ", ".join(values)


def stock_answer(
    card: Product, size: str | None, colour: str | None, *, missing_size: str | None = None
) -> str:
    """The answer to "is it there in this size and colour?", from available stock:
    "Худі «Вайб», сірий, M — є." or "Худі «Вайб», чорний, XL — немає. Є: чорний — S, M; XL —
    сірий." `missing_size`: a size asked for that the product is not made in."""
    if missing_size is not None:
        sizes = sizes_in_stock(card)
        tail = f" Є розміри: {_listed(sizes)}." if sizes else " Зараз немає жодного розміру."
        return f"{card.name}: розміру {missing_size} немає.{tail}"
    if size is None and colour is None:
        return f"{card.name}. {stock_line(card)}"
    available = {(v.size, v.colour) for v in card.variants if v.available > 0}
    asked = ", ".join(x for x in (colour, size) if x)
    if size is not None and colour is not None:
        if (size, colour) in available:
            return f"{card.name}, {asked} — є."
        other_sizes = [s for s in sizes_in_stock(card) if (s, colour) in available]
        other_colours = colours_in_stock(card, size)
        offers = []
        if other_sizes:
            offers.append(f"{colour} — {_listed(other_sizes)}")
        if other_colours:
            offers.append(f"{size} — {_listed(other_colours)}")
        if not offers and sizes_in_stock(card):
            offers.append(stock_line(card).removeprefix("Є "))
        tail = f" Є: {'; '.join(offers)}." if offers else " Зараз немає в наявності."
        return f"{card.name}, {asked} — немає.{tail}"
    if size is not None:
        colours = colours_in_stock(card, size)
        if colours:
            return f"{card.name}, {size} — є: {_listed(colours)}."
        sizes = sizes_in_stock(card)
        tail = f" Є розміри: {_listed(sizes)}." if sizes else " Зараз немає в наявності."
        return f"{card.name}, {size} — немає.{tail}"
    assert colour is not None
    sizes = [s for s in sizes_in_stock(card) if (s, colour) in available]
    if sizes:
        return f"{card.name}, {colour} — є розміри: {_listed(sizes)}."
    colours = colours_in_stock(card)
    tail = f" Є кольори: {_listed(colours)}." if colours else " Зараз немає в наявності."
    return f"{card.name}, {colour} — немає.{tail}"
