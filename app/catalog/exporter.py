"""Writing the catalog back out as `products_master.yaml` with its photo files.

The output is the shape `kramar catalog import` reads, so importing an export changes nothing, and
it is deterministic (the shop section first, then products by SKU, stock by declared colour then
size), so exporting twice gives the same bytes.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import yaml
from sqlalchemy import select

from app.catalog.models import Photo, Product
from app.shop.service import read_section

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.shop.schemas import Shop

PHOTO_FOLDER = "photos"
EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


async def export_catalog(session_factory: async_sessionmaker[AsyncSession], out: Path) -> int:
    """Write every product (active or not) to the YAML file `out` and each stored photo to
    `photos/` next to it; return the number of products.

    A photo file already there with the same bytes is left alone; URL photos stay URLs.
    """
    async with session_factory() as session:
        products = await _products(session)
        names = photo_names(products)
        text = render_yaml(products, names, await read_section(session))
        folder = out.parent / PHOTO_FOLDER
        written: set[str] = set()
        rows = await session.stream(
            select(Photo.id, Photo.content)
            .where(Photo.content.is_not(None))
            .execution_options(yield_per=50)
        )
        async for photo_id, content in rows:
            name = names.get(photo_id)
            if name is not None and content is not None and name not in written:
                written.add(name)
                await asyncio.to_thread(_write_if_different, folder / name, content)
    await asyncio.to_thread(_write_atomically, out, text.encode())
    return len(products)


async def render_catalog(session_factory: async_sessionmaker[AsyncSession]) -> str:
    """The catalog as YAML text, naming photos as `export_catalog` would write them."""
    async with session_factory() as session:
        products = await _products(session)
        shop = await read_section(session)
    return render_yaml(products, photo_names(products), shop)


async def _products(session: AsyncSession) -> Sequence[Product]:
    return (await session.scalars(select(Product).order_by(Product.sku))).all()


def photo_names(products: Sequence[Product]) -> dict[int, str]:
    """File name under `photos/` of every stored photo by its id: the basename of its source, or,
    when two different photos share a basename, the later with its sha256 prefix added."""
    names: dict[int, str] = {}
    owner: dict[str, str | None] = {}  # file name -> sha256 of the photo written there
    for product in products:
        for photo in product.photos:
            if photo.sha256 is None:  # an http(s) URL
                continue
            name = PurePosixPath(photo.source.replace("\\", "/")).name
            suffix = EXTENSIONS.get(photo.content_type or "", ".bin")
            if not name or name.startswith("."):
                name = f"photo-{photo.sha256[:12]}{suffix}"
            if owner.setdefault(name, photo.sha256) != photo.sha256:
                stem = PurePosixPath(name)
                name = f"{stem.stem}-{photo.sha256[:8]}{stem.suffix}"
                owner.setdefault(name, photo.sha256)
            names[photo.id] = name
    return names


def render_yaml(
    products: Sequence[Product], names: dict[int, str], shop: Shop | None = None
) -> str:
    """The YAML text of the shop section and `products`, in the key order and style of
    products_master.yaml."""
    documents = [_product_document(product, names) for product in products]
    root: dict[str, Any] = {} if shop is None else {"shop": _shop_document(shop)}
    root["products"] = documents
    return yaml.dump(
        root,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        # One value per line, however long: a folded description is hard to edit.
        width=1_000_000,
    )


def _product_document(product: Product, names: dict[int, str]) -> dict[str, Any]:
    size_rank = {size: i for i, size in enumerate(product.sizes)}
    colour_rank = {colour: i for i, colour in enumerate(product.colours)}
    variants = sorted(
        product.variants,
        key=lambda v: (colour_rank.get(v.colour, 0), size_rank.get(v.size, 0), v.size, v.colour),
    )
    document: dict[str, Any] = {
        "sku": product.sku,
        "name": product.name,
        "category": product.category,
        "price": product.price,
        "description": product.description,
        "sizes": _Flow(product.sizes),
        "colours": _Flow(product.colours),
        "stock": [_FlowMap(size=v.size, colour=v.colour, qty=v.on_hand) for v in variants],
        "visual_features": product.visual_features,
        "recognition_tips": product.recognition_tips,
        "tags": _Flow(product.tags),
        "photos": _Flow(
            f"{PHOTO_FOLDER}/{names[p.id]}" if p.id in names else p.source for p in product.photos
        ),
    }
    if not product.active:
        document["active"] = False
    return document


def _shop_document(shop: Shop) -> dict[str, Any]:
    """The section without empty fields, size chart rows one per line."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None and v != ""}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    document: dict[str, Any] = clean(shop.model_dump())
    for chart in document.get("size_charts", []):
        chart["columns"] = _Flow(chart["columns"])
        chart["rows"] = [_Flow(row) for row in chart["rows"]]
    return document


class _Flow(list[Any]):
    """A list written on one line: `[S, M, L]`."""


class _FlowMap(dict[str, Any]):
    """A mapping written on one line: `{size: S, colour: рожевий, qty: 3}`."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Indent list items under their key, as people write them (`products:\n  - sku: ...`).
        super().increase_indent(flow, False)

    def choose_scalar_style(self) -> str:
        # Ukrainian text is full of apostrophes (м'який): "м'який" reads better than 'м''який'.
        style: str = super().choose_scalar_style()
        if style == "'" and isinstance(self.event, yaml.ScalarEvent) and "'" in self.event.value:
            return '"'
        return style


def _decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    # A plain `2450.00`: read back as an exact Decimal by the importer, never a quoted string.
    return dumper.represent_scalar("tag:yaml.org,2002:float", format(value, "f"))


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)


def _flow_map(dumper: yaml.SafeDumper, value: _FlowMap) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", list(value.items()), flow_style=True)


_Dumper.add_representer(Decimal, _decimal)
_Dumper.add_representer(str, _text)
_Dumper.add_representer(_Flow, _flow)
_Dumper.add_representer(_FlowMap, _flow_map)


def _write_if_different(path: Path, content: bytes) -> None:
    try:
        if path.stat().st_size == len(content) and path.read_bytes() == content:
            return
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, content)


def _write_atomically(path: Path, content: bytes) -> None:
    # A reader (or an interrupted export) never sees half a file.
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(content)
    partial.replace(path)
