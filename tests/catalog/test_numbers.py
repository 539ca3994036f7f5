"""Numbers in catalog files mean what their digits say, or are a `file:line: field` error.

YAML 1.1 reads `price: 0750` as 488 (octal) and `12:50` as 770 (base 60), and Python's Decimal
takes `1_000`, `1e3` and `Infinity`. Every spelling below, in YAML (plain and quoted) and in CSV,
must either give exactly the number its digits say or be reported at its line.
"""

from __future__ import annotations

import re
from decimal import Decimal

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.catalog.fileformat import parse_catalog
from tests.catalog.factories import csv_rows

LIMIT = 1024 * 1024
MAX_PRICE = Decimal("9999999999.99")
MAX_PIECES = 1_000_000

YAML = """\
products:
  - sku: KR-KS-001
    name: Костюм
    category: костюми
    price: {price}
    sizes: [M]
    colours: [чорний]
    stock:
      - {{size: M, colour: чорний, qty: {qty}}}
"""
PRICE_LINE, QTY_LINE = 5, 9

# Spellings people and spreadsheets produce, and the ones YAML 1.1 or Decimal read "cleverly".
PRICE_SPELLINGS = st.one_of(
    st.from_regex(r"[0-9]{1,12}([.,][0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"0[0-7]{1,6}", fullmatch=True),  # YAML 1.1 octal
    st.from_regex(r"[1-9][0-9]?(:[0-5][0-9]){1,2}(\.[0-9]{1,2})?", fullmatch=True),  # base 60
    st.from_regex(r"[1-9][0-9]{0,2}(_[0-9]{3}){1,3}(\.[0-9]{2})?", fullmatch=True),
    st.from_regex(r"[+-]?[0-9]{1,5}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.from_regex(r"0(x[0-9A-Fa-f]{1,6}|b[01]{1,8}|o[0-7]{1,4})", fullmatch=True),
    st.from_regex(r"[0-9]{0,4}\.[0-9]{0,2}", fullmatch=True),
    st.from_regex(r"[0-9]{1,4}([.,][0-9]{1,3}){2}", fullmatch=True),  # 1.234,50 / 1,234.50
    st.sampled_from([".inf", "-.inf", ".Inf", ".nan", ".NaN", "Infinity", "NaN", "1e400", "٣٤"]),
)
QTY_SPELLINGS = st.one_of(
    st.from_regex(r"[0-9]{1,8}", fullmatch=True),
    st.from_regex(r"0[0-7]{1,6}", fullmatch=True),
    st.from_regex(r"[1-9][0-9]?(:[0-5][0-9]){1,2}", fullmatch=True),
    st.from_regex(r"[1-9](_[0-9]{3}){1,2}", fullmatch=True),
    st.from_regex(r"[+-]?[0-9]{1,4}(\.[0-9]{0,2})?([eE][+-]?[0-9]{1,2})?", fullmatch=True),
    st.from_regex(r"0(x[0-9A-Fa-f]{1,4}|b[01]{1,8}|o[0-7]{1,4})", fullmatch=True),
    st.sampled_from([".inf", ".nan", "true", "ten", "3.", "٣"]),
)


def price_meant(spelling: str) -> Decimal | None:
    """The price the digits say, or None where the file must be refused."""
    if not re.fullmatch(r"[0-9]+([.,][0-9]{1,2})?", spelling):
        return None
    value = Decimal(spelling.replace(",", "."))
    return value if value <= MAX_PRICE else None


def pieces_meant(spelling: str) -> int | None:
    if not re.fullmatch(r"0|[1-9][0-9]*", spelling):
        return None
    return int(spelling) if int(spelling) <= MAX_PIECES else None


def check(parsed, line, field, meant, read):
    """Either the one product with exactly `meant`, or a problem at `line` naming `field`."""
    if meant is not None:
        assert parsed.problems == []
        assert read(parsed.products[0].product) == meant
    else:
        assert parsed.products == []
        assert any(
            p.startswith(f"{parsed.name}:{line}: KR-KS-001.{field}: ") for p in parsed.problems
        )


def yaml_file(price: str, qty: str, quote: bool) -> bytes:
    def q(spelling: str) -> str:
        return f'"{spelling}"' if quote else spelling

    return YAML.format(price=q(price), qty=q(qty)).encode()


def csv_file(price: str, qty: str) -> bytes:
    product = {
        "sku": "KR-KS-001",
        "name": "Костюм",
        "category": "костюми",
        "price": price,
        "sizes": ["M"],
        "colours": ["чорний"],
        "stock": [{"size": "M", "colour": "чорний", "qty": qty}],
    }
    rows = csv_rows([product])
    return "\n".join(",".join(f'"{cell}"' for cell in row) for row in rows).encode()


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(price=PRICE_SPELLINGS, quote=st.booleans())
@example(price="0750", quote=False)  # YAML 1.1: 488
@example(price="12:50", quote=False)  # YAML 1.1: 770
@example(price="1_000", quote=False)
@example(price="1299,50", quote=False)
@example(price="1e3", quote=True)
def test_a_yaml_price_is_its_digits_or_an_error_at_its_line(price, quote):
    parsed = parse_catalog(
        yaml_file(price, "1", quote), name="products_master.yaml", max_bytes=LIMIT
    )

    check(parsed, PRICE_LINE, "price", price_meant(price), lambda p: p.price)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(qty=QTY_SPELLINGS, quote=st.booleans())
@example(qty="010", quote=False)  # YAML 1.1: 8
@example(qty="1:30", quote=False)  # YAML 1.1: 90
@example(qty="0x1F", quote=False)
def test_a_yaml_stock_count_is_its_digits_or_an_error_at_its_line(qty, quote):
    parsed = parse_catalog(
        yaml_file("100", qty, quote), name="products_master.yaml", max_bytes=LIMIT
    )

    check(parsed, QTY_LINE, "stock[0].qty", pieces_meant(qty), lambda p: p.stock[0].qty)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(price=PRICE_SPELLINGS, qty=QTY_SPELLINGS)
@example(price="1e3", qty="1_0")  # Python's Decimal and int read both "cleverly"
def test_csv_numbers_are_their_digits_or_errors_at_the_row(price, qty):
    parsed = parse_catalog(csv_file(price, qty), name="products.csv", max_bytes=LIMIT)

    meant_price, meant_qty = price_meant(price), pieces_meant(qty)
    if meant_price is not None and meant_qty is not None:
        assert parsed.problems == []
        product = parsed.products[0].product
        assert (product.price, product.stock[0].qty) == (meant_price, meant_qty)
    if meant_price is None:
        check(parsed, 2, "price", None, None)
    if meant_qty is None:
        check(parsed, 2, "qty", None, None)


def test_the_issue_spellings_read_as_written_or_refused():
    parsed = parse_catalog(
        yaml_file("0750", "0", quote=False), name="products_master.yaml", max_bytes=LIMIT
    )
    assert parsed.products[0].product.price == Decimal("750.00")

    refused = parse_catalog(
        yaml_file("12:50", "007", quote=False), name="products_master.yaml", max_bytes=LIMIT
    )
    assert refused.problems == [
        "products_master.yaml:5: KR-KS-001.price: must be plain digits with an optional . or , "
        "and kopecks, like 1299 or 1299.50 (no sign, spaces, exponent, _ or :) (got '12:50')",
        "products_master.yaml:9: KR-KS-001.stock[0].qty: must not start with 0 (write 7, not "
        "007) (got '007')",
    ]
