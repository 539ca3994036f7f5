"""No 500 for bad input: values beyond a column, NUL characters and non-numbers are a 422
naming the field; a constraint broken on create says which; request text cannot forge logs."""

from __future__ import annotations

import asyncio
import io
import logging
import re
from decimal import Decimal
from typing import Annotated
from urllib.parse import quote

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import get
from litestar.params import Parameter

from app.catalog.service import CatalogService
from app.inputs import BIGINT_MAX, INT32_MAX
from app.observability.logs import configure_logging
from tests.factories import product_in
from tests.fixtures_app import ADMIN, app_settings, run_in

STOCK = "/api/v1/products/KR-KS-001/stock"
SOME = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))


def named(response, field: str) -> bool:
    body = response.json()
    return response.status_code in (400, 422) and any(
        (e.get("field") or "") == field for e in body.get("errors", [])
    )


async def test_integers_beyond_their_column_are_422_naming_the_field(client):
    loop = asyncio.get_running_loop()

    @SOME
    @given(
        big=st.integers(min_value=BIGINT_MAX + 1, max_value=10**40),
        position=st.integers(min_value=INT32_MAX + 1, max_value=10**40),
    )
    def check(big, position):
        for url, field in (
            (f"/api/v1/products?offset={big}", "offset"),
            (f"/api/v1/admin/orders?offset={big}", "offset"),
            (f"/api/v1/admin/orders/{big}", "order_id"),
            (f"/api/v1/products/KR-KS-001/photos/{position}", "position"),
        ):
            response = run_in(loop, client.get(url, headers=ADMIN))
            assert response.status_code == 422 and named(response, field), (url, response.text)
        response = run_in(
            loop,
            client.post(
                f"/api/v1/admin/orders/{big}/status", json={"status": "new"}, headers=ADMIN
            ),
        )
        assert response.status_code == 422 and named(response, "order_id")

    await asyncio.to_thread(check)


# No "/": a SKU is one path segment, and a slash in it is another route (a 404).
segment = st.text(alphabet=st.characters(exclude_characters="/"), max_size=10)
nul_text = st.tuples(segment, segment).map(lambda parts: f"{parts[0]}\x00{parts[1]}")


async def test_nul_characters_in_any_parameter_or_body_are_422_naming_the_field(client):
    loop = asyncio.get_running_loop()

    @SOME
    @given(value=nul_text)
    def check(value):
        product = product_in(name="x").model_dump(mode="json")
        calls = [
            (lambda: client.get("/api/v1/products", params={"q": value}), "q"),
            (lambda: client.get("/api/v1/products", params={"category": value}), "category"),
            (lambda: client.get(f"{STOCK}", params={"size": value}), "size"),
            (lambda: client.get(f"{STOCK}", params={"colour": value}), "colour"),
            (lambda: client.get(f"/api/v1/products/{quote(value, safe='')}"), "sku"),
            (
                lambda: client.post(
                    "/api/v1/admin/products", json=product | {"name": value}, headers=ADMIN
                ),
                "name",
            ),
            (
                lambda: client.put(
                    "/api/v1/admin/products/KR-KS-001/stock",
                    json={"size": value, "colour": "чорний", "qty": 1},
                    headers=ADMIN,
                ),
                "size",
            ),
            (
                lambda: client.post(
                    "/api/v1/admin/orders/1/status",
                    json={"status": "new", "note": value},
                    headers=ADMIN,
                ),
                "note",
            ),
        ]
        for call, field in calls:
            response = run_in(loop, call())
            assert response.status_code == 422, (field, value, response.status_code, response.text)
            assert field in response.json()["detail"], (field, response.text)

    await asyncio.to_thread(check)


not_a_price = st.one_of(
    st.sampled_from(["NaN", "nan", "sNaN", "Infinity", "-Infinity", "inf", "1e400", "1e20", "-1"]),
    st.decimals(min_value=10**10, allow_nan=False, allow_infinity=False).map(str),
    st.decimals(max_value=Decimal("-0.01"), allow_nan=False, allow_infinity=False).map(str),
)


async def test_prices_that_are_not_numbers_or_overflow_are_422_naming_the_field(client):
    loop = asyncio.get_running_loop()

    @SOME
    @given(price=not_a_price)
    def check(price):
        for field in ("min_price", "max_price"):
            response = run_in(loop, client.get("/api/v1/products", params={field: price}))
            assert response.status_code == 422, (field, price, response.text)
            assert field in response.json()["detail"]
        if re.fullmatch(r"-?\d.*", price):  # a JSON number: in a body too
            body = f'{{"price": {price}}}'
            response = run_in(
                loop,
                client.put(
                    "/api/v1/admin/products/KR-KS-001/price",
                    content=body,
                    headers=ADMIN | {"Content-Type": "application/json"},
                ),
            )
            assert response.status_code in (400, 422) and "price" in response.text, response.text

    await asyncio.to_thread(check)


async def test_a_product_breaking_a_rule_other_than_the_sku_says_which(client, session_factory):
    body = product_in(photos=["ftp://example.com/a.jpg"]).model_dump(mode="json")
    response = await client.post("/api/v1/admin/products", json=body, headers=ADMIN)
    assert response.status_code == 422
    assert named(response, "photos[0]")
    assert "already exists" not in response.text

    # The same rule reached past the API (a catalog file may name photo files) is explained.
    async with CatalogService(session_factory) as catalog:
        try:
            await catalog.create_product(product_in(photos=["no-file.png"]))
        except Exception as error:  # the catalog's own error, with the rule in words
            assert getattr(error, "status_code", None) == 422
            assert "http(s) URL" in str(error) and "already exists" not in str(error)
        else:
            raise AssertionError("a photo without a file or URL was stored")


async def test_request_text_in_an_error_cannot_forge_a_log_line(database_url, db):
    from litestar.testing import AsyncTestClient

    from app.server import create_app

    @get("/boom/{text:str}")
    async def boom(text: Annotated[str, Parameter(description="echoed")]) -> None:
        raise RuntimeError(f"failed on {text}")

    app = create_app(app_settings(database_url))
    app.register(boom)
    stream = io.StringIO()
    handler = configure_logging(app.state.settings, stream=stream)
    try:
        async with AsyncTestClient(app) as client:
            response = await client.get("/boom/x%0aCRITICAL%20app.orders%3A%20forged%0d")
    finally:
        logging.getLogger().removeHandler(handler)
    assert response.status_code == 500
    lines = stream.getvalue().splitlines()
    assert not [line for line in lines if line.startswith("CRITICAL")]
    errors = [line for line in lines if re.match(r"\d{4}-\d\d-\d\d .* ERROR app.errors", line)]
    assert len(errors) == 1 and "\\nCRITICAL app.orders" in errors[0]


async def test_a_value_the_database_refuses_is_a_422_even_where_no_check_caught_it(
    database_url, db
):
    from litestar.datastructures import State
    from litestar.testing import AsyncTestClient
    from sqlalchemy import text

    from app.server import create_app

    @get("/unchecked/{number:int}")
    async def unchecked(
        state: State, number: Annotated[int, Parameter(description="not bounded")]
    ) -> None:
        async with state.db.session_factory() as session:
            await session.execute(text("SELECT CAST(:n AS integer)"), {"n": number})

    app = create_app(app_settings(database_url))
    app.register(unchecked)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/unchecked/5")).status_code == 200
        response = await client.get(f"/unchecked/{2**40}")
    assert response.status_code == 422
    assert "out of range" in response.json()["detail"]
