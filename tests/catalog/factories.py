"""Small catalog files for tests: YAML or CSV with PNG photos, written into a test's tmp_path."""

from __future__ import annotations

import csv
import struct
import zlib
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import func, select

from app.catalog.models import CatalogState, Product

if TYPE_CHECKING:
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


def png_bytes(seed: int = 0, size: int = 4) -> bytes:
    """A valid size×size RGB PNG whose colour (and so sha256) depends on `seed`."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = bytes([seed % 256, (seed * 7) % 256, (seed * 13) % 256])
    rows = b"".join(b"\x00" + pixel * size for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def product(sku: str = "KR-KS-001", **overrides: Any) -> dict[str, Any]:
    """One product as a catalog file holds it (a plain dict, prices as Decimal)."""
    fields: dict[str, Any] = {
        "sku": sku,
        "name": "Костюм «Мрія»",
        "category": "костюми",
        "price": Decimal("2450.00"),
        "description": "Плюшевий костюм: худі на блискавці і джогери. Дуже м'який.",
        "sizes": ["S", "M", "L"],
        "colours": ["рожевий", "бежевий"],
        "stock": [
            {"size": "S", "colour": "рожевий", "qty": 3},
            {"size": "M", "colour": "бежевий", "qty": 5},
        ],
        "visual_features": "Пухнаста тканина з ворсом.",
        "recognition_tips": "Має капюшон і блискавку.",
        "tags": ["плюш", "блискавка"],
        "photos": [f"photos/{sku}.png"],
    }
    fields.update(overrides)
    return fields


def catalog(count: int = 3) -> list[dict[str, Any]]:
    """`count` products KR-KS-001... with different prices and photos."""
    return [
        product(f"KR-KS-{n:03d}", name=f"Костюм {n}", price=Decimal(1000 + n) + Decimal("0.50"))
        for n in range(1, count + 1)
    ]


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(
    Decimal,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:float", str(value)),
)


def write_photos(folder: Path, products: list[dict[str, Any]]) -> None:
    """A distinct PNG for every file photo the products name."""
    for item in products:
        for source in item.get("photos", []):
            if not source.startswith(("http://", "https://")):
                path = folder / source
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(png_bytes(sum(source.encode())))


def write_yaml(
    folder: Path,
    products: list[dict[str, Any]],
    *,
    name: str = "products_master.yaml",
    photos: bool = True,
) -> Path:
    """products_master.yaml (and its photos) in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(
        yaml.dump({"products": products}, Dumper=_Dumper, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    if photos:
        write_photos(folder, products)
    return path


def write_text(folder: Path, text: str, name: str = "products_master.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def csv_rows(products: list[dict[str, Any]]) -> list[list[str]]:
    """The CSV form of `products`: header, then one row per stock line, product fields on the
    first row of each SKU only."""
    columns = [
        "sku", "name", "category", "price", "description", "sizes", "colours", "size", "colour",
        "qty", "visual_features", "recognition_tips", "tags", "photos", "active",
    ]  # fmt: skip
    rows = [columns]
    for item in products:
        fields = {
            key: "|".join(value) if isinstance(value, list) else str(value)
            for key, value in item.items()
            if key != "stock"
        }
        if "active" in item:
            fields["active"] = "true" if item["active"] else "false"
        stock = item.get("stock") or [{}]
        for index, line in enumerate(stock):
            row = {**(fields if index == 0 else {"sku": item["sku"]}), **{
                key: str(value) for key, value in line.items()
            }}  # fmt: skip
            rows.append([row.get(column, "") for column in columns])
    return rows


def write_csv(
    folder: Path,
    products: list[dict[str, Any]],
    *,
    name: str = "products.csv",
    photos: bool = True,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with path.open("w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows(csv_rows(products))
    if photos:
        write_photos(folder, products)
    return path


async def catalog_version(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session:
        return await session.scalar(select(CatalogState.version)) or 0


async def product_count(session_factory: async_sessionmaker[AsyncSession]) -> int:
    async with session_factory() as session:
        return await session.scalar(select(func.count(Product.id))) or 0


async def db_state(session_factory: async_sessionmaker[AsyncSession]) -> list[tuple[Any, ...]]:
    """Everything an import writes, comparable across imports (no ids, no timestamps)."""
    async with session_factory() as session:
        products = (await session.scalars(select(Product).order_by(Product.sku))).all()
        return [_state(p) for p in products]


def _state(p: Product) -> tuple[Any, ...]:
    columns = ("sku", "name", "category", "price", "description", "sizes", "colours")
    more = ("visual_features", "recognition_tips", "tags", "active")
    return (
        *(getattr(p, name) for name in (*columns, *more)),
        sorted((v.size, v.colour, v.on_hand) for v in p.variants),
        [(ph.position, ph.source, ph.sha256, ph.content_type) for ph in p.photos],
    )
