"""Parsing catalog files: exact values, and every problem named as `file:line: field: ...`."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.catalog.errors import CatalogFileError
from app.catalog.fileformat import detect_format, parse_catalog, read_catalog
from tests.catalog.factories import catalog, product, write_csv, write_text, write_yaml

LIMIT = 20 * 1024 * 1024

GOOD = """\
products:
  - sku: KR-KS-001
    name: Костюм «Мрія»
    category: костюми
    price: 2450.10
    sizes: [42, 44, no]
    colours: [рожевий]
    stock:
      - {size: 42, colour: рожевий, qty: 3}
    active: yes
"""


def problems_of(path: Path) -> list[str]:
    parsed = read_catalog(path, max_bytes=LIMIT)
    with pytest.raises(CatalogFileError) as caught:
        parsed.raise_for_problems()
    return caught.value.problems


def test_yaml_numbers_are_exact_and_text_stays_text(tmp_path):
    parsed = read_catalog(write_text(tmp_path, GOOD), max_bytes=LIMIT)

    assert parsed.problems == []
    item = parsed.products[0].product
    assert item.price == Decimal("2450.10") and isinstance(item.price, Decimal)
    assert item.sizes == ["42", "44", "no"]
    assert item.stock[0].size == "42"
    assert item.active is True


def test_invalid_yaml_syntax_names_the_line(tmp_path):
    path = write_text(tmp_path, GOOD.replace("price: 2450.10", "price: [2450.10"))

    [problem] = problems_of(path)

    assert problem.startswith(f"{path}:6: YAML syntax")


def test_duplicate_skus_name_both_lines(tmp_path):
    path = write_text(tmp_path, GOOD + GOOD.removeprefix("products:\n"))

    [problem] = problems_of(path)

    assert problem == (
        f"{path}:11: KR-KS-001.sku: SKU KR-KS-001 is also used by the product on line 2"
    )


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("price: 2450.10", "price: -1", ":5: KR-KS-001.price: must not be negative (got '-1')"),
        ("price: 2450.10", "price: 12.345", ":5: KR-KS-001.price: must have at most 2 decimal"),
        ("qty: 3", "qty: -3", ":9: KR-KS-001.stock[0].qty: must not be negative (got '-3')"),
        ("size: 42, colour", "size: XXL, colour", ":9: KR-KS-001.stock[0].size: size 'XXL' is"),
        ("    active: yes", "    colour: red", ":10: KR-KS-001.colour: unknown field; the fields"),
        ("qty: 3}", "qty: 3, extra: 1}", ":9: KR-KS-001.stock[0].extra: unknown field; the"),
        ("    active: yes", "    name: Двічі", ":10: KR-KS-001.name: appears twice (first on"),
        ("    name: Костюм «Мрія»\n", "", ":2: KR-KS-001.name: missing (required)"),
        ("sku: KR-KS-001", "sku: kr 1", ":2: products[0].sku: must be 3 to 32 capital Latin"),
    ],
)
def test_bad_values_are_named_by_file_line_and_field(tmp_path, before, after, expected):
    path = write_text(tmp_path, GOOD.replace(before, after))

    problems = problems_of(path)

    assert any(p.startswith(f"{path}{expected}") for p in problems), problems


def test_all_problems_of_a_file_are_reported_in_line_order(tmp_path):
    text = GOOD.replace("price: 2450.10", "price: -1").replace("qty: 3", "qty: x")
    path = write_text(tmp_path, text + "extra: 1\n")

    problems = problems_of(path)

    assert [p.split(":")[1] for p in problems] == ["5", "9", "11"]
    assert (
        problems[2]
        == f"{path}:11: extra: unknown top-level key; only `products` and `shop` are allowed"
    )


def test_a_file_without_products_is_refused(tmp_path):
    path = write_text(tmp_path, "- sku: KR-1\n")

    assert problems_of(path) == [
        f"{path}:1: file: the file must be a mapping with a `products` list"
    ]


def test_aliases_cannot_blow_up(tmp_path):
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for before, level in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{level}: &{level} [{', '.join(['*' + before] * 10)}]")
    path = write_text(tmp_path, "\n".join([*lines, "products: *i", ""]))

    problems = problems_of(path)

    assert any("too deeply nested or too many aliased values" in p for p in problems)


def test_a_huge_file_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as file:
        file.truncate(50 * 1024 * 1024)  # sparse: instant
    monkeypatch.setattr(Path, "open", lambda *_a, **_k: pytest.fail("the file was opened"))

    assert problems_of(path) == [f"{path}: file is 50.0 MB, the limit is 20.0 MB"]


def test_non_utf8_text_names_the_line(tmp_path):
    path = tmp_path / "products_master.yaml"
    path.write_bytes(GOOD.encode("cp1251", errors="replace"))

    [problem] = problems_of(path)

    assert problem.startswith(f"{path}:3: not UTF-8 text (byte 0xca at column 11)")


def test_a_missing_file_is_a_problem(tmp_path):
    assert problems_of(tmp_path / "nope.yaml") == [f"{tmp_path}/nope.yaml: no such file"]


def test_csv_and_yaml_of_one_catalog_parse_to_the_same_products(tmp_path):
    products = [*catalog(2), product("KR-HD-001", stock=[], active=False, tags=[])]

    from_yaml = read_catalog(write_yaml(tmp_path, products, photos=False), max_bytes=LIMIT)
    from_csv = read_catalog(write_csv(tmp_path, products, photos=False), max_bytes=LIMIT)

    assert from_csv.problems == from_yaml.problems == []
    assert [p.product for p in from_csv.products] == [p.product for p in from_yaml.products]


CSV = """\
sku;name;category;price;sizes;colours;size;colour;qty;photos
KR-KS-001;Костюм;костюми;2450.00;S|M;рожевий;S;рожевий;3;photos/a.png
KR-KS-001;;;;;;M;рожевий;1;
"""


def test_csv_with_semicolons_and_product_fields_on_the_first_row(tmp_path):
    parsed = read_catalog(write_text(tmp_path, CSV, "products.csv"), max_bytes=LIMIT)

    assert parsed.problems == []
    [item] = parsed.products
    assert item.product.stock_map()[("M", "рожевий")] == 1
    assert item.photo_lines == (2,)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("sku;name", "sku;nme", ":1: header: unknown column(s) 'nme'; missing column(s) name"),
        (";M;рожевий;1;", ";M;рожевий;one;", ":3: KR-KS-001.qty: must be a whole number of"),
        (";M;рожевий;1;", ";M;;1;", ":3: KR-KS-001.colour: missing (required)"),
        ("KR-KS-001;;;;", "KR-KS-001;;;2500.00;", ":3: KR-KS-001.price: '2500.00' differs from"),
        (";S|M;", ";S|M|S;", ":2: KR-KS-001.sizes: 'S' is listed twice"),
    ],
)
def test_bad_csv_is_named_by_file_line_and_column(tmp_path, before, after, expected):
    path = write_text(tmp_path, CSV.replace(before, after), "products.csv")

    problems = problems_of(path)

    assert any(p.startswith(f"{path}{expected}") for p in problems), problems


def test_an_upload_is_sniffed_as_csv_or_yaml():
    assert detect_format("upload", "\nsku,name\n") == "csv"
    assert detect_format("upload", "# comment\nproducts:\n  - sku: KR-1\n") == "yaml"
    assert detect_format("catalog.yml", "sku,name") == "yaml"

    parsed = parse_catalog(CSV.encode(), name="upload", max_bytes=LIMIT)

    assert [p.product.sku for p in parsed.products] == ["KR-KS-001"]


def test_an_upload_over_the_limit_is_refused():
    parsed = parse_catalog(b"x" * 2048, name="upload", max_bytes=1024)

    assert parsed.problems == ["upload: file is 2.0 KB, the limit is 1.0 KB"]


def test_yaml_written_as_utf8_with_bom_is_read(tmp_path):
    path = tmp_path / "products_master.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())

    assert read_catalog(path, max_bytes=LIMIT).problems == []


def test_unknown_stock_variant_is_reported_alongside_other_errors_of_the_product(tmp_path):
    products = [
        product(
            "KR-KS-001",
            price=Decimal("-1"),
            stock=[{"size": "XXL", "colour": "рожевий", "qty": 1}],
        )
    ]
    path = write_yaml(tmp_path, products)
    with pytest.raises(CatalogFileError) as raised:
        read_catalog(path, max_bytes=10_000_000).raise_for_problems()
    fields = [problem.split(": ")[1] for problem in raised.value.problems]
    assert fields == ["KR-KS-001.price", "KR-KS-001.stock[0].size"]
