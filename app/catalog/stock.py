"""On hand, reserved, available: read from one definition, the `variant_stock` view.

- **on hand** (`product_variants.on_hand`): the pieces the shop has. The catalog file, the admin
  API and a shipment change it; a reservation never does.
- **reserved**: the pieces on lines of open orders (draft, new, confirmed, paid). Computed by the
  view (migration 0009) from the order lines on every read, never stored.
- **available** = max(on hand − reserved, 0): the only figure a customer is shown.

Every path that shows or checks stock reads it here, so "reserved" has one meaning everywhere.
The view names the order tables in SQL only; the catalog imports nothing of the orders part.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Integer, column, exists, select, table

from app.catalog import schemas
from app.catalog.models import Product, Variant

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from sqlalchemy import ColumnElement
    from sqlalchemy.ext.asyncio import AsyncSession

# Not in the ORM metadata: a view, made by migration 0009 (not by create_all, not truncated).
variant_stock = table(
    "variant_stock",
    column("variant_id", BigInteger),
    column("product_id", BigInteger),
    column("on_hand", Integer),
    column("reserved", Integer),
    column("available", Integer),
)


@dataclass(frozen=True)
class Level:
    """One variant's stock as the view computed it."""

    on_hand: int
    reserved: int
    available: int


NO_LEVEL = Level(0, 0, 0)


async def levels(session: AsyncSession, variant_ids: Iterable[int]) -> dict[int, Level]:
    """On hand, reserved and available of each variant, as of this statement."""
    ids = sorted(set(variant_ids))
    if not ids:
        return {}
    s = variant_stock.c
    rows = await session.execute(
        select(s.variant_id, s.on_hand, s.reserved, s.available).where(s.variant_id.in_(ids))
    )
    return {row.variant_id: Level(row.on_hand, row.reserved, row.available) for row in rows}


def in_stock() -> ColumnElement[bool]:
    """True for a product (correlated to `Product`) with some size × colour available."""
    # `on_hand > 0` first: the view then computes reserved only for variants that have pieces.
    return exists().where(
        variant_stock.c.product_id == Product.id,
        variant_stock.c.on_hand > 0,
        variant_stock.c.available > 0,
    )


def shortfalls(
    product: Product, on_hand: Mapping[tuple[str, str], int], found: Mapping[int, Level]
) -> list[schemas.Shortfall]:
    """The variants of `product` that the new `on_hand` (by size × colour) puts below what open
    orders hold; `found` is their `levels`. Variants not in `on_hand` keep their stock."""
    short = []
    for variant in product.variants:
        new = on_hand.get((variant.size, variant.colour))
        reserved = found.get(variant.id, NO_LEVEL).reserved
        if new is not None and new < reserved:
            short.append(
                schemas.Shortfall(
                    sku=product.sku,
                    name=product.name,
                    size=variant.size,
                    colour=variant.colour,
                    on_hand=new,
                    reserved=reserved,
                )
            )
    return short


async def lock(session: AsyncSession, product_ids: Iterable[int]) -> None:
    """Lock the variant rows of these products, in id order, before writing them.

    Reservations lock a variant row and then write (their trigger takes the `catalog_state` row);
    a writer that took `catalog_state` first by updating a product could deadlock with one.
    Locking in id order first keeps every writer on the same order. Read `levels` only after
    this: reserved is then final until the commit.
    """
    ids = sorted(set(product_ids))
    if ids:
        await session.execute(
            select(Variant.id)
            .where(Variant.product_id.in_(ids))
            .order_by(Variant.id)
            .with_for_update()
        )


def shortfall_notice(found: list[schemas.Shortfall], source: str) -> str:
    """The managers' message (Ukrainian) about variants short of their reservations."""
    lines = "\n".join(
        f"• {s.sku} «{s.name}» {s.size} / {s.colour}: на складі {s.on_hand}, "
        f"у відкритих замовленнях {s.reserved}"
        for s in found
    )
    return (
        f"⚠️ Залишок менший, ніж зарезервовано у відкритих замовленнях ({source}):\n{lines}\n"
        "Резерви збережено, клієнтам показано «немає в наявності». Перевірте ці замовлення: "
        "чи вистачить товару для кожного."
    )
