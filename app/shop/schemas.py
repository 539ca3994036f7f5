"""The shop section: what the shop says about itself, in the shape catalog files carry it.

It lives next to the products (a top-level `shop:` key of products_master.yaml, or a
`shop.yaml` beside the catalog file), is validated like them and stored in Postgres; the bot
answers delivery, payment, returns, sizing, contacts and hours questions from it, the model gets
it as context, and the price guard lets a model name an amount only when it is written here (a
delivery price, a free-delivery threshold, a payment fee).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from app.catalog.schemas import Price, Strict, Text

if TYPE_CHECKING:
    from decimal import Decimal

MIN_RETURN_DAYS = 14
"""Days the Ukrainian consumer-protection law (art. 9) gives to return or exchange goods of
proper quality: a shop may give more, never less."""

Line = Annotated[str, Field(min_length=1, max_length=300)]
# An empty value in a file (`price:`) means "none", as everywhere in catalog files.
MaybePrice = Annotated[Price | None, BeforeValidator(lambda v: None if v == "" else v)]
Key = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]


def _unique_ids(options: list[DeliveryOption] | list[PaymentOption]) -> None:
    seen: set[str] = set()
    for option in options:
        if option.id in seen:
            raise ValueError(f"options: id {option.id!r} is used twice")
        seen.add(option.id)


class DeliveryOption(Strict):
    """One way the shop ships: Nova Poshta branch, parcel locker or courier, Ukrposhta, ..."""

    id: Key
    """A short name of the option, e.g. np_branch."""
    carrier: Literal["nova_poshta", "ukrposhta", "courier", "pickup", "other"]
    title: Line
    """What the customer reads, e.g. «Нова Пошта, відділення»."""
    price: MaybePrice = None
    """The shop's price in UAH; empty: the carrier's tariff, paid on receipt."""
    free_from: MaybePrice = None
    """Order total in UAH from which this delivery is free."""
    days: Line
    """How long it takes, e.g. «1–2 дні»."""
    note: Text = ""


class Delivery(Strict):
    options: Annotated[list[DeliveryOption], Field(min_length=1, max_length=20)]
    note: Text = ""
    """Said after the options, e.g. when parcels leave and where the shop ships."""

    @model_validator(mode="after")
    def _ids_unique(self) -> Delivery:
        _unique_ids(self.options)
        return self


class PaymentOption(Strict):
    """One way to pay: cash on delivery, card, an IBAN invoice, ..."""

    id: Key
    kind: Literal["cash_on_delivery", "card", "iban", "other"]
    title: Line
    fee: MaybePrice = None
    """A fixed fee in UAH the customer pays for this way, if any."""
    note: Text = ""


class Payment(Strict):
    options: Annotated[list[PaymentOption], Field(min_length=1, max_length=20)]
    note: Text = ""

    @model_validator(mode="after")
    def _ids_unique(self) -> Payment:
        _unique_ids(self.options)
        return self


def _lawful(days: int) -> int:
    if days < MIN_RETURN_DAYS:
        raise ValueError(
            f"must be at least {MIN_RETURN_DAYS}: the consumer-protection law gives a customer "
            f"{MIN_RETURN_DAYS} days to return or exchange goods"
        )
    return days


class Returns(Strict):
    days: Annotated[int, Field(le=365), AfterValidator(_lawful)] = MIN_RETURN_DAYS
    """Days after receipt within which goods can be returned or exchanged."""
    exchange: bool = True
    """Goods may be exchanged for another size or colour."""
    conditions: Text = ""
    """E.g. «річ без слідів носіння, з бирками»."""
    how: Text = ""
    """The steps, e.g. «напишіть нам номер замовлення, відправте Новою Поштою ...»."""


Cell = Annotated[str, Field(min_length=1, max_length=40)]


class SizeChart(Strict):
    """A size chart of one category: a header row and one row per size."""

    category: Annotated[str, Field(min_length=1, max_length=80)]
    """The catalog category it is for, e.g. «джинси»; «*» for every other category."""
    columns: Annotated[list[Cell], Field(min_length=2, max_length=10)]
    rows: Annotated[list[list[Cell]], Field(min_length=1, max_length=30)]
    note: Text = ""
    """Fit advice, e.g. «сідають по фігурі; між розмірами беріть більший»."""

    @model_validator(mode="after")
    def _rows_fit(self) -> SizeChart:
        for index, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"rows[{index}] has {len(row)} cells, columns has {len(self.columns)}"
                )
        return self


class Contacts(Strict):
    phone: Line | None = None
    email: Line | None = None
    telegram: Line | None = None
    instagram: Line | None = None
    address: Line | None = None
    """Where the shop or its showroom is, if customers may come."""


class Shop(Strict):
    """The whole shop section."""

    name: Line
    delivery: Delivery
    payment: Payment
    returns: Returns = Field(default_factory=Returns)
    size_charts: Annotated[list[SizeChart], Field(max_length=50)] = Field(default_factory=list)
    contacts: Contacts = Field(default_factory=Contacts)
    hours: Annotated[list[Line], Field(max_length=14)] = Field(default_factory=list)
    """Opening hours, one line each, e.g. «Пн–Пт 9:00–20:00»."""

    @model_validator(mode="after")
    def _charts_unique(self) -> Shop:
        seen: set[str] = set()
        for chart in self.size_charts:
            key = chart.category.casefold()
            if key in seen:
                raise ValueError(f"size_charts: category {chart.category!r} has two charts")
            seen.add(key)
        return self

    def amounts(self) -> set[Decimal]:
        """Every amount of money the shop states: what the price guard lets a model repeat."""
        found: set[Decimal] = set()
        for option in self.delivery.options:
            found.update(p for p in (option.price, option.free_from) if p is not None)
        found.update(o.fee for o in self.payment.options if o.fee is not None)
        return found

    def chart_for(self, category: str | None) -> SizeChart | None:
        """The size chart of `category`, else the «*» chart, else None."""
        charts = {c.category.casefold(): c for c in self.size_charts}
        if category is not None and category.casefold() in charts:
            return charts[category.casefold()]
        return charts.get("*")
