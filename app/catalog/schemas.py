"""Shapes of catalog data at the edges: catalog files, API bodies and API answers."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from app.inputs import CleanInput

SKU_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,31}$"

Sku = Annotated[str, Field(pattern=SKU_PATTERN, description="Stock-keeping unit, e.g. KR-KS-001")]


# Numbers given as text (catalog files, form fields) mean what their digits say, in plain ASCII
# decimal: no sign, exponent, underscores, hex/octal/binary prefixes, sexagesimal `12:50`,
# `.inf` or `.nan`, which YAML 1.1 or Python's Decimal would otherwise read as something else.
_PLAIN_PRICE = re.compile(r"[0-9]+(?:[.,][0-9]{1,2})?")
_PLAIN_COUNT = re.compile(r"0|[1-9][0-9]{0,17}")


def plain_price(value: object) -> object:
    """A price written as text → its exact Decimal (`1299,50` → 1299.50); other types pass."""
    if not isinstance(value, str):
        return value
    if _PLAIN_PRICE.fullmatch(value):
        return Decimal(value.replace(",", "."))
    if re.fullmatch(r"[0-9]+[.,][0-9]+", value):
        raise ValueError("must have at most 2 decimal places (kopecks)")
    if value.startswith("-") and _PLAIN_PRICE.fullmatch(value[1:]):
        raise ValueError("must not be negative")
    raise ValueError(
        "must be plain digits with an optional . or , and kopecks, like 1299 or 1299.50 "
        "(no sign, spaces, exponent, _ or :)"
    )


def plain_count(value: object) -> object:
    """A count written as text → its int (`12` → 12); other types pass."""
    if not isinstance(value, str):
        return value
    if _PLAIN_COUNT.fullmatch(value):
        return int(value)
    if value.startswith("-") and _PLAIN_COUNT.fullmatch(value[1:]):
        raise ValueError("must not be negative")
    if re.fullmatch(r"0[0-9]+", value):
        raise ValueError("must not start with 0 (write 7, not 007)")
    raise ValueError(
        "must be a whole number of pieces in plain digits, like 0 or 12 "
        "(no sign, decimal point, exponent, _ or :)"
    )


def _two_places(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("must have at most 2 decimal places (kopecks)")
    return value.quantize(Decimal("0.01"))


MAX_PRICE = Decimal("9999999999.99")
"""The largest price a NUMERIC(12, 2) column holds, in UAH."""

Price = Annotated[
    Decimal,
    BeforeValidator(plain_price),
    Field(ge=0, le=MAX_PRICE, description="Price in UAH, e.g. 1299.00"),
    AfterValidator(_two_places),
]
Pieces = Annotated[int, BeforeValidator(plain_count), Field(ge=0, le=1_000_000)]
Text = Annotated[str, Field(max_length=4000)]
Label = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^\S(.*\S)?$")]


def _unique(values: list[str]) -> list[str]:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{value!r} is listed twice")
        seen.add(value)
    return values


UniqueLabels = Annotated[list[Label], Field(min_length=1, max_length=50), AfterValidator(_unique)]


class Strict(CleanInput):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def stock_problems(
    sizes: list[str], colours: list[str], lines: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(path, message) for every stock line whose size or colour is not declared, or is repeated.

    A plain function, so the importer can check raw lines of a product whose other fields failed
    validation (a model validator would not run then) and report every problem at once.
    """
    problems: list[tuple[str, str]] = []
    seen: set[tuple[str, str]] = set()
    for index, (size, colour) in enumerate(lines):
        if size not in sizes:
            problems.append((f"stock[{index}].size", f"size {size!r} is not among sizes {sizes}"))
        if colour not in colours:
            problems.append(
                (f"stock[{index}].colour", f"colour {colour!r} is not among colours {colours}")
            )
        if (size, colour) in seen:
            problems.append((f"stock[{index}]", f"{size}/{colour} is listed twice"))
        seen.add((size, colour))
    return problems


class StockLine(Strict):
    """How many pieces of one size × colour the shop has (on hand; open orders not deducted)."""

    size: Label
    colour: Label
    qty: Pieces = Field(description="Pieces on hand")


class ProductIn(Strict):
    """One product as a catalog file or the admin API gives it."""

    sku: Sku
    name: str = Field(min_length=1, max_length=200)
    category: str = Field(min_length=1, max_length=80)
    price: Price
    description: Text = ""
    sizes: UniqueLabels
    colours: UniqueLabels
    stock: list[StockLine] = Field(default_factory=list, max_length=2500)
    visual_features: Text = ""
    recognition_tips: Text = ""
    tags: list[Label] = Field(default_factory=list, max_length=50)
    photos: list[str] = Field(default_factory=list, max_length=20)
    active: bool = True

    @model_validator(mode="after")
    def _stock_matches_variants(self) -> ProductIn:
        problems = self.stock_problems()
        if problems:
            # "stock[2].size: ..." — the importer reads the path prefix to find the line.
            raise ValueError("; ".join(f"{path}: {message}" for path, message in problems))
        return self

    def stock_problems(self) -> list[tuple[str, str]]:
        """(path inside the product, message) for stock lines that name no declared variant."""
        return stock_problems(self.sizes, self.colours, [(x.size, x.colour) for x in self.stock])

    def stock_map(self) -> dict[tuple[str, str], int]:
        """Quantity for every size × colour; combinations not listed have 0."""
        listed = {(line.size, line.colour): line.qty for line in self.stock}
        return {(s, c): listed.get((s, c), 0) for s in self.sizes for c in self.colours}


class CatalogDocument(Strict):
    """A whole `products_master.yaml`."""

    products: list[ProductIn] = Field(max_length=200_000)


class ProductUpdate(Strict):
    """Fields to change; those left out stay as they are."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    category: str | None = Field(default=None, min_length=1, max_length=80)
    price: Price | None = None
    description: Text | None = None
    visual_features: Text | None = None
    recognition_tips: Text | None = None
    tags: list[Label] | None = Field(default=None, max_length=50)
    active: bool | None = None


class PriceUpdate(Strict):
    price: Price


class StockUpdate(Strict):
    size: Label
    colour: Label
    qty: Pieces = Field(description="Pieces on hand; open orders keep their reservations")


class Variant(BaseModel):
    """One size × colour as customers see it."""

    size: str
    colour: str
    available: int = Field(description="Pieces that can be ordered now: on hand − reserved, ≥ 0")


class StockLevel(BaseModel):
    """One size × colour as the shop's manager sees it."""

    size: str
    colour: str
    on_hand: int = Field(description="Pieces the shop has (what the catalog file and API set)")
    reserved: int = Field(description="Pieces on lines of open orders (draft to paid)")
    available: int = Field(description="on_hand − reserved, never below 0")
    short: bool = Field(description="Open orders hold more than is on hand (managers are told)")


class Shortfall(BaseModel):
    """A variant whose open orders hold more pieces than are on hand."""

    sku: str
    name: str
    size: str
    colour: str
    on_hand: int
    reserved: int


class Photo(BaseModel):
    position: int
    url: str = Field(description="Where to fetch the image: this API or an external URL")


class ProductSummary(BaseModel):
    """A product in a list."""

    sku: str
    name: str
    category: str
    price: Decimal
    currency: str = "UAH"
    in_stock: bool
    active: bool


class Product(ProductSummary):
    """A product card: everything a customer or the bot needs, straight from the database."""

    description: str
    sizes: list[str]
    colours: list[str]
    variants: list[Variant]
    visual_features: str
    recognition_tips: str
    tags: list[str]
    photos: list[Photo]
    updated_at: datetime


class AdminProduct(Product):
    """A product card with what only the shop sees: on hand and reserved per size × colour."""

    stock: list[StockLevel]


class ProductPage(BaseModel):
    items: list[ProductSummary]
    total: int
    limit: int
    offset: int


class StockAnswer(BaseModel):
    sku: str
    in_stock: bool
    variants: list[Variant]


class ImportResult(BaseModel):
    """What a catalog upload changed (or, with dry_run, would change)."""

    added: list[str]
    changed: dict[str, list[str]] = Field(description="SKU → names of the fields that changed")
    deactivated: list[str]
    unchanged: int
    dry_run: bool
    shortfalls: list[Shortfall] = Field(
        default_factory=list,
        description="Variants now on hand below their open orders' reservations (managers told)",
    )
    summary: str


class ProductBrief(BaseModel):
    """A product in a few words, for knowing what the shop sells (not a card: no stock)."""

    sku: str
    name: str
    category: str
    text: str
    """Description, looks and tags together."""
