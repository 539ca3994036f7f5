"""Callback data of the customer's buttons: the values they stand for, within 64 bytes.

A button names its product, size and colour by value (`c:KR-KS-001:S:бежевий`), never by a
position in a list that shifts when the catalog changes. A label that would not fit, or that
holds the ":" separator, travels as "#" and 8 hex digits of its hash and is looked up among the
card's current labels when pressed. `parse` reads callback data strictly: anything else (a
forged button, one from an old version of the bot) is `StaleButtonError`, which the
conversation answers politely.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.catalog.schemas import SKU_PATTERN

if TYPE_CHECKING:
    from collections.abc import Iterable

LIMIT = 64
"""Bytes of callback data Telegram accepts."""
_SKU = re.compile(SKU_PATTERN)
_ORDER_ID = re.compile(r"[1-9]\d{0,17}")  # a bigint identity


class StaleButtonError(ValueError):
    """Callback data this bot does not (or no longer) understand."""


@dataclass(frozen=True)
class Show:
    """`p:SKU`: show the product's card."""

    sku: str


@dataclass(frozen=True)
class ChooseSize:
    """`o:SKU`: start ordering the product (pick a size)."""

    sku: str


@dataclass(frozen=True)
class ChooseColour:
    """`s:SKU:size`: the size is picked; pick a colour."""

    sku: str
    size: str
    """The size as the button carries it (a label or its hash): `resolve` it against the card."""


@dataclass(frozen=True)
class Reserve:
    """`c:SKU:size:colour`: reserve this variant."""

    sku: str
    size: str
    colour: str


@dataclass(frozen=True)
class Delivery:
    """`d:np` or `d:courier`."""

    method: str


@dataclass(frozen=True)
class Confirm:
    """`ok:<order id>` under the summary (`ok` alone: from before orders were named)."""

    order_id: int | None


@dataclass(frozen=True)
class Cancel:
    """`x:<order id>` under the summary (`x` alone: from before orders were named)."""

    order_id: int | None


@dataclass(frozen=True)
class Manager:
    """`h`: call a person."""


Action = Show | ChooseSize | ChooseColour | Reserve | Delivery | Confirm | Cancel | Manager


def _digest(label: str) -> str:
    return "#" + hashlib.blake2s(label.encode(), digest_size=4).hexdigest()


def _fit(kind: str, sku: str, *labels: str) -> str:
    plain = [
        label if ":" not in label and not label.startswith("#") else _digest(label)
        for label in labels
    ]
    data = ":".join([kind, sku, *plain])
    if len(data.encode()) > LIMIT:
        data = ":".join([kind, sku, *(_digest(label) for label in labels)])
    return data


def show(sku: str) -> str:
    return f"p:{sku}"


def choose_size(sku: str) -> str:
    return f"o:{sku}"


def choose_colour(sku: str, size: str) -> str:
    return _fit("s", sku, size)


def reserve(sku: str, size: str, colour: str) -> str:
    return _fit("c", sku, size, colour)


def delivery(method: str) -> str:
    return f"d:{method}"


def confirm(order_id: int) -> str:
    return f"ok:{order_id}"


def cancel(order_id: int) -> str:
    return f"x:{order_id}"


MANAGER = "h"


def resolve(carried: str, labels: Iterable[str]) -> str | None:
    """The card's label a button carries (by value or by hash), or None if it has none now."""
    if carried.startswith("#"):
        found = [label for label in labels if _digest(label) == carried]
        return found[0] if len(found) == 1 else None
    return carried if carried in labels else None


def _sku(value: str) -> str:
    if not _SKU.fullmatch(value):
        raise StaleButtonError(f"not a SKU: {value[:40]!r}")
    return value


def _order_id(value: str | None) -> int | None:
    if value is None:
        return None
    if not _ORDER_ID.fullmatch(value):
        raise StaleButtonError(f"not an order id: {value[:40]!r}")
    return int(value)


def parse(data: str) -> Action:
    """What a pressed button means; `StaleButtonError` when it means nothing to this bot."""
    if len(data.encode()) > LIMIT:
        raise StaleButtonError("longer than Telegram allows")
    kind, *rest = data.split(":")
    match kind, rest:
        case "p", [sku]:
            return Show(_sku(sku))
        case "o", [sku]:
            return ChooseSize(_sku(sku))
        case "s", [sku, size] if size:
            return ChooseColour(_sku(sku), size)
        case "c", [sku, size, colour] if size and colour:
            return Reserve(_sku(sku), size, colour)
        case "d", [("np" | "courier") as method]:
            return Delivery(method)
        case "ok", [] | [_]:
            return Confirm(_order_id(rest[0] if rest else None))
        case "x", [] | [_]:
            return Cancel(_order_id(rest[0] if rest else None))
        case "h", []:
            return Manager()
    raise StaleButtonError(f"unknown button {data[:40]!r}")
