from __future__ import annotations

from decimal import Decimal

from litestar.testing import AsyncTestClient

from app.server import create_app
from tests.factories import add_product
from tests.fixtures_app import ADMIN, app_settings


async def test_product_card_comes_from_the_database(client, session_factory):
    await add_product(
        session_factory, sku="KR-KS-001", name="Костюм «Мрія»", price=Decimal("2450.00")
    )

    response = await client.get("/api/v1/products/KR-KS-001")

    assert response.status_code == 200
    card = response.json()
    assert card["name"] == "Костюм «Мрія»"
    assert Decimal(card["price"]) == Decimal("2450.00")
    assert card["currency"] == "UAH"
    assert card["in_stock"] is True
    sizes = [(v["size"], v["colour"], v["available"]) for v in card["variants"]]
    assert sizes[0] == ("S", "чорний", 3)
    assert len(sizes) == 6


async def test_unknown_sku_is_a_404_with_a_message(client):
    response = await client.get("/api/v1/products/KR-NOPE-1")
    assert response.status_code == 404
    assert "KR-NOPE-1" in response.json()["detail"]


async def test_list_filters_by_text_category_stock_and_price(client, session_factory):
    await add_product(
        session_factory, sku="KR-A-1", name="Худі «Ритм»", category="худі", price=Decimal("1500")
    )
    await add_product(
        session_factory,
        sku="KR-A-2",
        name="Сукня «Лагуна»",
        category="сукні",
        price=Decimal("2100"),
    )
    await add_product(
        session_factory,
        sku="KR-A-3",
        name="Худі «Вечір»",
        category="худі",
        price=Decimal("1900"),
        stock=[],
    )

    async def skus(**params):
        response = await client.get("/api/v1/products", params=params)
        assert response.status_code == 200, response.text
        return [item["sku"] for item in response.json()["items"]]

    assert await skus(q="лагуна") == ["KR-A-2"]
    assert sorted(await skus(category="ХУДІ")) == ["KR-A-1", "KR-A-3"]
    assert await skus(in_stock="false") == ["KR-A-3"]
    assert sorted(await skus(min_price="1600")) == ["KR-A-2", "KR-A-3"]
    assert await skus(max_price="1500") == ["KR-A-1"]
    page = (await client.get("/api/v1/products", params={"limit": 2, "offset": 2})).json()
    assert page["total"] == 3 and len(page["items"]) == 1


async def test_search_text_cannot_inject_like_wildcards(client, session_factory):
    await add_product(session_factory, sku="KR-B-1", name="Сукня")
    response = await client.get("/api/v1/products", params={"q": "%"})
    assert response.json()["total"] == 0


async def test_stock_of_one_variant(client, session_factory):
    await add_product(session_factory, sku="KR-C-1")
    response = await client.get(
        "/api/v1/products/KR-C-1/stock", params={"size": "m", "colour": "Чорний"}
    )
    assert response.json() == {
        "sku": "KR-C-1",
        "in_stock": True,
        "variants": [{"size": "M", "colour": "чорний", "available": 1}],
    }
    missing = await client.get("/api/v1/products/KR-C-1/stock", params={"size": "XXL"})
    assert missing.status_code == 404


async def test_invalid_query_values_are_422_naming_the_field(client):
    response = await client.get("/api/v1/products", params={"limit": "1000"})
    assert response.status_code == 422
    assert "limit" in response.json()["detail"]


async def test_admin_routes_need_the_bearer_token(client, session_factory):
    await add_product(session_factory, sku="KR-D-1")
    no_auth = await client.put("/api/v1/admin/products/KR-D-1/price", json={"price": "1.00"})
    wrong = await client.put(
        "/api/v1/admin/products/KR-D-1/price",
        json={"price": "1.00"},
        headers={"Authorization": "Bearer nope"},
    )
    assert no_auth.status_code == 401 and wrong.status_code == 401
    assert (await client.get("/api/v1/products/KR-D-1")).json()["price"] == "599.00"


async def test_admin_price_change_shows_in_the_next_read(client, session_factory):
    await add_product(session_factory, sku="KR-E-1")
    changed = await client.put(
        "/api/v1/admin/products/KR-E-1/price", json={"price": "649.50"}, headers=ADMIN
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get("/api/v1/products/KR-E-1")).json()["price"] == "649.50"


async def test_admin_create_update_stock_and_deactivate(client):
    body = {
        "sku": "KR-NEW-1",
        "name": "Кардиган «Затишок»",
        "category": "кардигани",
        "price": "1399.00",
        "sizes": ["M"],
        "colours": ["молочний"],
        "stock": [{"size": "M", "colour": "молочний", "qty": 1}],
    }
    created = await client.post("/api/v1/admin/products", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    again = await client.post("/api/v1/admin/products", json=body, headers=ADMIN)
    assert again.status_code == 409

    patched = await client.patch(
        "/api/v1/admin/products/KR-NEW-1", json={"name": "Кардиган «Тепло»"}, headers=ADMIN
    )
    assert patched.json()["name"] == "Кардиган «Тепло»"

    stock = await client.put(
        "/api/v1/admin/products/KR-NEW-1/stock",
        json={"size": "M", "colour": "молочний", "qty": 0},
        headers=ADMIN,
    )
    assert stock.json()["in_stock"] is False
    assert stock.json()["stock"] == [
        {
            "size": "M",
            "colour": "молочний",
            "on_hand": 0,
            "reserved": 0,
            "available": 0,
            "short": False,
        }
    ]
    bad_variant = await client.put(
        "/api/v1/admin/products/KR-NEW-1/stock",
        json={"size": "XL", "colour": "молочний", "qty": 1},
        headers=ADMIN,
    )
    assert bad_variant.status_code == 404

    gone = await client.post("/api/v1/admin/products/KR-NEW-1/deactivate", headers=ADMIN)
    assert gone.json()["active"] is False
    assert (await client.get("/api/v1/products/KR-NEW-1")).status_code == 404


async def test_invalid_body_is_422_naming_the_field(client, session_factory):
    await add_product(session_factory, sku="KR-F-1")
    response = await client.put(
        "/api/v1/admin/products/KR-F-1/price", json={"price": "-5"}, headers=ADMIN
    )
    assert response.status_code == 422
    assert "price" in response.json()["detail"]
    three_places = await client.put(
        "/api/v1/admin/products/KR-F-1/price", json={"price": "1.005"}, headers=ADMIN
    )
    assert three_places.status_code == 422
    unknown = await client.post(
        "/api/v1/admin/products", json={"sku": "KR-G-1", "colour": "x"}, headers=ADMIN
    )
    assert unknown.status_code == 422


async def test_admin_routes_are_absent_without_a_token(database_url, db):
    app = create_app(app_settings(database_url, admin_token=None))
    async with AsyncTestClient(app) as client:
        response = await client.put("/api/v1/admin/products/KR-A-1/price", json={"price": "1"})
    assert response.status_code == 404


async def test_health_probes(client):
    assert (await client.get("/health/live")).json() == {"status": "live"}
    assert (await client.get("/health/ready")).status_code == 200


async def test_openapi_schema_documents_the_api(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/products/{sku}" in schema["paths"]
    operation_ids = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    assert {"ListProducts", "GetProduct", "SetProductPrice"} <= operation_ids


async def test_product_card_response_is_documented_in_the_schema(client):
    schema = (await client.get("/schema/openapi.json")).json()
    answer = schema["paths"]["/api/v1/products/{sku}"]["get"]["responses"]["200"]
    assert answer["content"]["application/json"]["schema"]["$ref"].endswith("/Product")


async def test_inactive_product_is_hidden_from_customers_but_not_from_the_admin(
    client, session_factory
):
    await add_product(session_factory, sku="KR-H-1", active=False)
    assert (await client.get("/api/v1/products/KR-H-1")).status_code == 404
    admin = await client.get("/api/v1/admin/products/KR-H-1", headers=ADMIN)
    assert admin.status_code == 200 and admin.json()["active"] is False
