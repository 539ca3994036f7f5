"""Reading catalog files (YAML or CSV) into validated `ProductIn`s that remember their lines.

Every problem reads `file:line: field: what is wrong`, where `field` starts with the product's SKU
(`KR-KS-001.stock[2].qty`), or with its position (`products[3].sku`) when the SKU itself is
unusable. All problems of a file are collected before anything is reported.

YAML (`products_master.yaml`): a mapping with the key `products`, a list of products in the shape
of `ProductIn`, and optionally `shop`, the shop section (`app.shop.schemas.Shop`: delivery,
payment, returns, size charts, contacts, hours). A CSV catalog (or a YAML one without `shop:`)
may have the section in a `shop.yaml` beside it: a mapping with the one key `shop`; both at once
is an error. Problems of the section read `file:line: shop.delivery.options[0].price: ...`.

Numbers mean what their digits say: `price: 2450.00` becomes `Decimal("2450.00")` (never a float),
`price: 0750` is 750 (YAML 1.1 would say 488), and a price or `qty` spelled any other way than
plain decimal digits (`12:50`, `1_000`, `0x1F`, `1e3`, `.inf`, `+5`, `qty: 007`) is
an error, never a silent reading. Text fields keep their text even when YAML would read it as
something else, so `sizes: [42, 44]` and `colours: [no]` are the strings "42", "44" and "no".
Duplicate keys are errors.

CSV: UTF-8 (a BOM is fine), comma- or semicolon-separated (the header decides), one row per stock
line (size × colour), the header naming the columns in any order:

    sku,name,category,price,description,sizes,colours,size,colour,qty,visual_features,
    recognition_tips,tags,photos,active

Required columns: sku, name, category, price, sizes, colours; the others may be left out. List cells
(sizes, colours, tags, photos) separate items with `|`: `S|M|L`. Product fields (every column but
size, colour and qty) are read from the first row of a SKU; later rows of the SKU may leave them
empty or repeat them, and a repeated value that differs from the first row's is an error naming
both lines. A row with empty size, colour and qty declares a product without a stock line. `active`
is true/false (empty: true).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from app.catalog.errors import CatalogFileError
from app.catalog.schemas import SKU_PATTERN, ProductIn, StockLine, stock_problems
from app.shop.schemas import Shop

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic_core import ErrorDetails
    from yaml.nodes import Node

Format = Literal["yaml", "csv"]
Loc = tuple[str | int, ...]

MB = 1024 * 1024
SHOP_FILE = "shop.yaml"
"""The shop section's own file, beside a catalog file that does not carry `shop:` itself."""
# Fields whose YAML scalars keep their YAML meaning (booleans); every other scalar is text. Numbers
# stay text too: `app.catalog.schemas` reads them digit by digit, in YAML and CSV alike.
TYPED_FIELDS = frozenset({"active"})
YAML_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
PRODUCT_FIELDS = tuple(ProductIn.model_fields)
STOCK_FIELDS = tuple(StockLine.model_fields)
CSV_STOCK_COLUMNS = ("size", "colour", "qty")
CSV_LIST_COLUMNS = frozenset({"sizes", "colours", "tags", "photos"})
CSV_COLUMNS = (
    *("sku", "name", "category", "price", "description", "sizes", "colours"),
    *CSV_STOCK_COLUMNS,
    *("visual_features", "recognition_tips", "tags", "photos", "active"),
)
CSV_REQUIRED = frozenset({"sku", "name", "category", "price", "sizes", "colours"})
MAX_DEPTH = 16
_sku_re = re.compile(SKU_PATTERN)
_resolver = Resolver()
# `ProductIn` reports stock lines naming no declared variant as "stock[2].size: ...; stock[3]: ...".
_stock_problem_re = re.compile(r"(?:^|; )(stock\[(\d+)\](?:\.(size|colour))?): ")


@dataclass(frozen=True)
class SourceProduct:
    """A valid product and where it came from in its file."""

    product: ProductIn
    line: int
    photo_lines: tuple[int, ...]


@dataclass
class ParsedCatalog:
    """The valid products of a file and the problems found; check `problems` before use."""

    name: str
    products: list[SourceProduct] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    shop: Shop | None = None
    """The shop section, when the file (or its shop.yaml) has a valid one."""
    shop_source: str | None = None
    """Which file the section came from (for "given twice" problems)."""
    # (`file:line: SKU.photos[0]`, source) of the photos of invalid products: checking them too
    # lets one run report every problem of the file.
    unchecked_photos: list[tuple[str, str]] = field(default_factory=list)

    def raise_for_problems(self) -> None:
        """Raise `CatalogFileError` with every problem in line order, if there are any."""
        if self.problems:
            raise CatalogFileError(sorted(self.problems, key=self._line))

    def _line(self, problem: str) -> int:
        number = problem[len(self.name) + 1 :].split(":", 1)[0]
        return int(number) if number.isdigit() else 0


def read_catalog(path: Path, *, max_bytes: int) -> ParsedCatalog:
    """Parse and validate the catalog file at `path`; the format comes from its extension.

    The size is checked before the file is read. Problems are collected in the result.
    """
    name = str(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return ParsedCatalog(name, problems=[f"{name}: no such file"])
    except OSError as error:
        return ParsedCatalog(name, problems=[f"{name}: cannot read: {error.strerror}"])
    if size > max_bytes:
        return ParsedCatalog(name, problems=[_too_big(name, size, max_bytes)])
    try:
        with path.open("rb") as file:
            # Read one byte more than allowed: the file may have grown since stat().
            data = file.read(max_bytes + 1)
    except OSError as error:
        return ParsedCatalog(name, problems=[f"{name}: cannot read: {error.strerror}"])
    catalog = parse_catalog(data, name=name, max_bytes=max_bytes)
    beside = path.parent / SHOP_FILE
    if beside.is_file():
        try:
            with beside.open("rb") as file:
                shop_data = file.read(max_bytes + 1)
        except OSError as error:
            catalog.problems.append(f"{beside}: cannot read: {error.strerror}")
        else:
            add_shop_file(catalog, shop_data, name=str(beside), max_bytes=max_bytes)
    return catalog


def add_shop_file(catalog: ParsedCatalog, data: bytes, *, name: str, max_bytes: int) -> None:
    """Read a `shop.yaml` (a mapping with the one key `shop`) into `catalog`'s shop section;
    a catalog that has a section of its own gets a problem instead."""
    if len(data) > max_bytes:
        catalog.problems.append(_too_big(name, len(data), max_bytes))
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        catalog.problems.append(_not_utf8(name, data, error))
        return
    shape = "a shop file must be a mapping with the one key `shop`"
    root = _compose_root(text, name, catalog.problems, shape)
    if root is None:
        return
    if not isinstance(root, MappingNode):
        catalog.problems.append(f"{name}:{root.start_mark.line + 1}: file: {shape}")
        return
    builder = _Builder(name, catalog.problems, budget=max(len(text), 1000))
    shop_node: Node | None = None
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if key != "shop" or shop_node is not None:
            builder.problem(key_node, str(key), shape)
        else:
            shop_node = value_node
    if shop_node is None:
        catalog.problems.append(f"{name}:{root.start_mark.line + 1}: shop: missing; {shape}")
        return
    _read_shop(builder, shop_node, catalog)


def parse_catalog(
    data: bytes, *, name: str, max_bytes: int, fmt: Format | None = None
) -> ParsedCatalog:
    """Parse and validate catalog bytes (an upload); `fmt` defaults to `detect_format`.

    Problems are collected in the result.
    """
    if len(data) > max_bytes:
        return ParsedCatalog(name, problems=[_too_big(name, len(data), max_bytes)])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        return ParsedCatalog(name, problems=[_not_utf8(name, data, error)])
    fmt = fmt or detect_format(name, text)
    catalog = ParsedCatalog(name)
    raw_products = _read_yaml(text, catalog) if fmt == "yaml" else _read_csv(text, catalog)
    _validate(raw_products, catalog)
    return catalog


def detect_format(name: str, text: str) -> Format:
    """YAML or CSV: by the file name's extension, else by whether the first line is a CSV header."""
    suffix = Path(name).suffix.lower()
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    if suffix == ".csv":
        return "csv"
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        cells = re.split(r"[,;]", stripped)
        if len(cells) > 1 and "sku" in {cell.strip().strip('"').lower() for cell in cells}:
            return "csv"
        return "yaml"
    return "yaml"


def _too_big(name: str, size: int, limit: int) -> str:
    return f"{name}: file is {describe_sizes(size, limit)}"


def describe_sizes(size: int, limit: int) -> str:
    """`50.0 MB, the limit is 20.0 MB`: both in the unit that suits the limit."""
    unit, name = (MB, "MB") if limit >= MB else (1024, "KB")
    return f"{size / unit:.1f} {name}, the limit is {limit / unit:.1f} {name}"


def _not_utf8(name: str, data: bytes, error: UnicodeDecodeError) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return f"{name}:1: the file is UTF-16 text; save it as UTF-8"
    line = data.count(b"\n", 0, error.start) + 1
    column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
    return (
        f"{name}:{line}: not UTF-8 text (byte 0x{data[error.start]:02x} at column {column}); "
        "save the file as UTF-8"
    )


# A product before validation: its fields, where each came from, and how to name a field.
@dataclass
class _RawProduct:
    data: Any
    line: int
    index: int
    lines: dict[Loc, int]
    column_names: bool = False  # CSV: name fields by their column, not by their YAML path

    @property
    def sku(self) -> str | None:
        """The SKU if it is a valid one: the best name for the product in messages."""
        sku = self.data.get("sku") if isinstance(self.data, dict) else None
        return sku.strip() if isinstance(sku, str) and _sku_re.match(sku.strip()) else None

    @property
    def label(self) -> str:
        return self.sku or ("" if self.column_names else f"products[{self.index}]")

    def line_of(self, loc: Loc) -> int:
        for end in range(len(loc), 0, -1):
            line = self.lines.get(loc[:end])
            if line is not None:
                return line
        return self.line

    def field_name(self, loc: Loc) -> str:
        if self.column_names:
            column = _csv_column(loc)
            return f"{self.label}.{column}" if self.label else column
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
        return f"{self.label}{path}" if self.label else path.lstrip(".")


def _csv_column(loc: Loc) -> str:
    if not loc:
        return "sku"
    if loc[0] == "stock":
        named = [part for part in loc[1:] if isinstance(part, str)]
        return named[0] if named else "size/colour"
    return str(loc[0])


# YAML ------------------------------------------------------------------------------------------


class _Builder:
    """Plain values from a YAML node tree, recording the line of every path."""

    def __init__(self, name: str, problems: list[str], budget: int) -> None:
        self.name = name
        self.problems = problems
        # Aliases can make a small file expand into a huge tree; no honest file needs more nodes
        # than it has characters.
        self.budget = budget
        self.scalars = SafeConstructor()
        # Problems inside the product being built, named once its SKU is known.
        self.pending: list[tuple[int, Loc, str]] = []

    def problem(self, node: Node, where: str, message: str) -> None:
        self.problems.append(f"{self.name}:{node.start_mark.line + 1}: {where}: {message}")

    def product_problem(self, node: Node, loc: Loc, message: str) -> None:
        self.pending.append((node.start_mark.line + 1, loc, message))

    def build(
        self, node: Node, loc: Loc, lines: dict[Loc, int], key: str | None, depth: int = 0
    ) -> Any:
        self.budget -= 1
        if self.budget < 0 or depth > MAX_DEPTH:
            raise _TooComplexError(node)
        if isinstance(node, ScalarNode):
            return self.scalar(node, typed=key in TYPED_FIELDS)
        if isinstance(node, SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                lines[(*loc, index)] = item.start_mark.line + 1
                items.append(self.build(item, (*loc, index), lines, key, depth + 1))
            return items
        assert isinstance(node, MappingNode)
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.product_problem(key_node, loc, "a key must be a plain name")
                continue
            name = str(key_node.value)
            line = key_node.start_mark.line + 1
            if name == "<<" and not key_node.style:
                self.product_problem(key_node, loc, "merge keys (<<) are not supported")
                continue
            if name in first_line:
                self.product_problem(
                    key_node, (*loc, name), f"appears twice (first on line {first_line[name]})"
                )
                continue
            first_line[name] = line
            lines[(*loc, name)] = line
            result[name] = self.build(value_node, (*loc, name), lines, name, depth + 1)
        return result

    def scalar(self, node: ScalarNode, *, typed: bool) -> Any:
        plain = not node.style
        if not typed:
            # `description:` left empty means no description, not a type error.
            return "" if plain and node.value in YAML_NULLS else str(node.value)
        # Composed without implicit typing (faster): resolve it here, only where it matters.
        tag = node.tag
        if plain and tag == "tag:yaml.org,2002:str":
            tag = _resolver.resolve(ScalarNode, node.value, (True, False))  # type: ignore[no-untyped-call]
        if tag == "tag:yaml.org,2002:null":
            return None
        if tag == "tag:yaml.org,2002:bool":
            return self.scalars.construct_yaml_bool(node)
        return str(node.value)


class _TooComplexError(Exception):
    def __init__(self, node: Node) -> None:
        self.node = node


def _compose(text: str) -> Node | None:
    # The base loaders tag every plain scalar as a string; `_Builder.scalar` types the few it must.
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    return yaml.compose(text, Loader=loader)


def _compose_root(text: str, name: str, problems: list[str], shape: str) -> Node | None:
    """The YAML node tree of `text`, or None with the syntax problem (or emptiness) reported;
    `shape` says what the file should be."""
    try:
        root = _compose(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = f"{mark.line + 1}" if mark is not None else "1"
        column = f" (column {mark.column + 1})" if mark is not None else ""
        problem = error.problem or error.context or "invalid YAML"
        problems.append(f"{name}:{line}: YAML syntax{column}: {problem}")
        return None
    except yaml.reader.ReaderError as error:
        where = text.count("\n", 0, error.position) + 1
        code = error.character if isinstance(error.character, int) else ord(error.character)
        problems.append(f"{name}:{where}: YAML syntax: character U+{code:04X} is not allowed")
        return None
    except yaml.YAMLError as error:
        problems.append(f"{name}:1: YAML syntax: {error}")
        return None
    if root is None:
        problems.append(f"{name}:1: file: the file is empty; {shape}")
    return root


def _read_yaml(text: str, catalog: ParsedCatalog) -> list[_RawProduct]:
    name = catalog.name
    shape = "the file must be a mapping with a `products` list"
    root = _compose_root(text, name, catalog.problems, shape)
    if root is None:
        return []
    if not isinstance(root, MappingNode):
        catalog.problems.append(f"{name}:{root.start_mark.line + 1}: file: {shape}")
        return []
    builder = _Builder(name, catalog.problems, budget=max(len(text), 1000))
    products_node: Node | None = None
    shop_node: Node | None = None
    for key_node, value_node in root.value:
        key = key_node.value if isinstance(key_node, ScalarNode) else None
        if key not in ("products", "shop"):
            builder.problem(
                key_node, str(key), "unknown top-level key; only `products` and `shop` are allowed"
            )
        elif (products_node if key == "products" else shop_node) is not None:
            builder.problem(key_node, str(key), f"key '{key}' appears twice")
        elif key == "products":
            products_node = value_node
        else:
            shop_node = value_node
    if shop_node is not None:
        _read_shop(builder, shop_node, catalog)
    if products_node is None:
        catalog.problems.append(f"{name}:{root.start_mark.line + 1}: products: missing; {shape}")
        return []
    if not isinstance(products_node, SequenceNode):
        builder.problem(products_node, "products", "must be a list of products")
        return []

    raw: list[_RawProduct] = []
    try:
        for index, node in enumerate(products_node.value):
            lines: dict[Loc, int] = {}
            data = builder.build(node, (), lines, None)
            product = _RawProduct(data, node.start_mark.line + 1, index, lines)
            for at, loc, message in builder.pending:
                catalog.problems.append(f"{name}:{at}: {product.field_name(loc)}: {message}")
            builder.pending.clear()
            raw.append(product)
    except _TooComplexError as error:
        builder.problem(error.node, "file", "too deeply nested or too many aliased values")
        return []
    return raw


def _read_shop(builder: _Builder, node: Node, catalog: ParsedCatalog) -> None:
    """Validate the shop section at `node` into `catalog.shop`, or report its problems."""
    name = builder.name
    if catalog.shop_source is not None:
        builder.problem(
            node, "shop", f"the shop section is given twice (also in {catalog.shop_source})"
        )
        return
    catalog.shop_source = name
    lines: dict[Loc, int] = {}
    try:
        data = builder.build(node, (), lines, None)
    except _TooComplexError as error:
        builder.problem(error.node, "shop", "too deeply nested or too many aliased values")
        return
    for at, where, problem in builder.pending:
        catalog.problems.append(f"{name}:{at}: {_shop_field(where)}: {problem}")
    builder.pending.clear()
    try:
        catalog.shop = Shop.model_validate(data)
    except ValidationError as error:
        for detail in error.errors(include_url=False):
            loc: Loc = tuple(detail["loc"])
            line = next(
                (lines[loc[:end]] for end in range(len(loc), 0, -1) if loc[:end] in lines),
                node.start_mark.line + 1,
            )
            message = detail["msg"].removeprefix("Value error, ")
            if detail["type"] == "missing":
                message = "missing (required)"
            elif detail["type"] == "extra_forbidden":
                message = "unknown field"
            value = detail.get("input")
            if detail["type"] not in ("missing", "extra_forbidden") and (
                isinstance(value, str) and len(value) <= 40
            ):
                message = f"{message} (got {value!r})"
            catalog.problems.append(f"{name}:{line}: {_shop_field(loc)}: {message}")


def _shop_field(loc: Loc) -> str:
    return "shop" + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)


# CSV -------------------------------------------------------------------------------------------


def _read_csv(text: str, catalog: ParsedCatalog) -> list[_RawProduct]:
    name = catalog.name
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = _numbered_rows(reader, catalog)
    header_line, header = next(((n, cells) for n, cells in rows if any(cells)), (1, []))
    columns = [cell.strip().lower() for cell in header]
    problems = catalog.problems
    unknown = [c for c in columns if c not in CSV_COLUMNS]
    repeated = sorted({c for c in columns if columns.count(c) > 1})
    missing = [c for c in CSV_COLUMNS if c in CSV_REQUIRED and c not in columns]
    if unknown or repeated or missing:
        parts = []
        if unknown:
            parts.append(f"unknown column(s) {', '.join(map(repr, unknown))}")
        if repeated:
            parts.append(f"repeated column(s) {', '.join(repeated)}")
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        problems.append(
            f"{name}:{header_line}: header: {'; '.join(parts)}; "
            f"the columns are {','.join(CSV_COLUMNS)}"
        )
        return []

    by_sku: dict[str, _RawProduct] = {}
    anonymous: list[_RawProduct] = []
    for line, cells in rows:
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            problems.append(
                f"{name}:{line}: row: has {len(cells)} cells, the header has {len(columns)}"
            )
            continue
        row = dict(zip(columns, [cell.strip() for cell in cells], strict=False))
        sku = row.get("sku", "")
        product = by_sku.get(sku) if sku else None
        if product is None:
            product = _RawProduct(
                _csv_product_fields(row), line, len(by_sku) + len(anonymous), {}, True
            )
            product.lines.update({(column,): line for column in row})
            if sku:
                by_sku[sku] = product
            else:
                anonymous.append(product)
        else:
            _check_repeated_fields(name, product, row, line, problems)
        stock = {column: row[column] for column in CSV_STOCK_COLUMNS if row.get(column)}
        if stock:
            stock_list = product.data.setdefault("stock", [])
            product.lines[("stock", len(stock_list))] = line
            stock_list.append(stock)
    return [*by_sku.values(), *anonymous]


def _numbered_rows(reader: Any, catalog: ParsedCatalog) -> Iterator[tuple[int, list[str]]]:
    """(first line of the row, cells): a quoted cell may span several lines."""
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            catalog.problems.append(f"{catalog.name}:{reader.line_num}: CSV syntax: {error}")
            return
        yield start, cells


def _csv_product_fields(row: dict[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for column, value in row.items():
        # An empty cell is a missing field: "missing (required)" or the default.
        if column in CSV_STOCK_COLUMNS or not value:
            continue
        if column in CSV_LIST_COLUMNS:
            data[column] = [item.strip() for item in value.split("|")]
        else:
            data[column] = value
    return data


def _check_repeated_fields(
    name: str, product: _RawProduct, row: dict[str, str], line: int, problems: list[str]
) -> None:
    for column, value in _csv_product_fields(row).items():
        if column == "sku":
            continue
        if product.data.get(column) != value:
            shown = "|".join(value) if isinstance(value, list) else value
            earlier = product.data.get(column, "")
            earlier_shown = "|".join(earlier) if isinstance(earlier, list) else earlier
            problems.append(
                f"{name}:{line}: {product.label}.{column}: {shown!r} differs from "
                f"{earlier_shown!r} on line {product.line} (the first row of {product.label})"
            )


# Validation ------------------------------------------------------------------------------------


def _validate(raw_products: list[_RawProduct], catalog: ParsedCatalog) -> None:
    name = catalog.name
    seen_sku: dict[str, int] = {}
    for raw in raw_products:
        if not isinstance(raw.data, dict):
            catalog.problems.append(
                f"{name}:{raw.line}: products[{raw.index}]: must be a mapping of product fields"
            )
            continue
        sku, sku_line = raw.sku, raw.line_of(("sku",))
        duplicate = sku is not None and sku in seen_sku
        if sku is not None and duplicate:
            catalog.problems.append(
                f"{name}:{sku_line}: {sku}.sku: SKU {sku} is also used by the product on line "
                f"{seen_sku[sku]}"
            )
        elif sku is not None:
            seen_sku[sku] = sku_line
        try:
            product = ProductIn.model_validate(raw.data)
        except ValidationError as error:
            catalog.problems.extend(_describe(name, raw, error))
            catalog.problems.extend(_raw_stock_problems(name, raw))
            photos = raw.data.get("photos")
            if isinstance(photos, list):
                catalog.unchecked_photos.extend(
                    (f"{name}:{raw.line_of(('photos', i))}: {raw.field_name(('photos', i))}", p)
                    for i, p in enumerate(photos)
                    if isinstance(p, str)
                )
            continue
        if duplicate:
            continue
        photo_lines = tuple(raw.line_of(("photos", i)) for i in range(len(product.photos)))
        catalog.products.append(SourceProduct(product, raw.line, photo_lines))


def _raw_stock_problems(name: str, raw: _RawProduct) -> Iterator[str]:
    """Stock lines naming undeclared variants, in a product that failed validation otherwise."""
    assert isinstance(raw.data, dict)
    sizes, colours, stock = (raw.data.get(k) for k in ("sizes", "colours", "stock"))
    if not (isinstance(sizes, list) and isinstance(colours, list) and isinstance(stock, list)):
        return
    lines = [
        (str(line.get("size")), str(line.get("colour")))
        for line in stock
        if isinstance(line, dict) and isinstance(line.get("size"), str | int)
    ]
    if len(lines) != len(stock):
        return  # a malformed line: its own error is reported, the indexes would not match
    for path, message in stock_problems([str(x) for x in sizes], [str(x) for x in colours], lines):
        loc = _path_loc(path)
        yield f"{name}:{raw.line_of(loc)}: {raw.field_name(loc)}: {message}"


def _path_loc(path: str) -> Loc:
    """("stock", 2, "size") from "stock[2].size"."""
    match = re.fullmatch(r"stock\[(\d+)\](?:\.(\w+))?", path)
    assert match is not None
    return ("stock", int(match.group(1)), *((match.group(2),) if match.group(2) else ()))


def _describe(name: str, raw: _RawProduct, error: ValidationError) -> Iterator[str]:
    for detail in error.errors(include_url=False):
        loc: Loc = tuple(detail["loc"])
        message = detail["msg"].removeprefix("Value error, ")
        if not loc and detail["type"] == "value_error":
            # The stock check runs after every field is valid: its paths are in the message.
            yield from _stock_problems(name, raw, message)
            continue
        yield f"{name}:{raw.line_of(loc)}: {raw.field_name(loc)}: {_explain(detail, message)}"


def _stock_problems(name: str, raw: _RawProduct, message: str) -> Iterator[str]:
    matches = list(_stock_problem_re.finditer(message))
    if not matches:
        yield f"{name}:{raw.line}: {raw.field_name(())}: {message}"
        return
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        end = following.start() if following is not None else len(message)
        loc: Loc = ("stock", int(match.group(2)))
        if match.group(3):
            loc = (*loc, match.group(3))
        text = message[match.end() : end]
        yield f"{name}:{raw.line_of(loc)}: {raw.field_name(loc)}: {text}"


def _explain(detail: ErrorDetails, message: str) -> str:
    kind = detail["type"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        allowed = STOCK_FIELDS if "stock" in detail["loc"] else PRODUCT_FIELDS
        return f"unknown field; the fields are {', '.join(allowed)}"
    if kind == "string_pattern_mismatch" and detail["loc"] == ("sku",):
        return (
            "must be 3 to 32 capital Latin letters, digits and dashes, like KR-KS-001 "
            f"(got {detail.get('input')!r})"
        )
    value = detail.get("input")
    if isinstance(value, bool | int | Decimal) or (isinstance(value, str) and len(value) <= 40):
        shown = repr(value) if isinstance(value, str) else str(value)
        return f"{message} (got {shown})"
    return message
