"""The admin orders API through the real app: routing, guard, error mapping."""

from __future__ import annotations

import pytest

from app.orders.service import OrderService
from tests.factories import add_product
from tests.fixtures_app import ADMIN

BASE = "/api/v1/admin/orders"


@pytest.fixture(name="placed")
async def fx_placed(session_factory):
    """Two orders: chat 1's confirmed by the customer (new), chat 2's still a draft."""
    product = await add_product(session_factory)
    orders = OrderService(session_factory)
    first = await orders.start_order(1, product.sku, "S", "чорний")
    await orders.set_contact(first.id, "Олена", "0671234567")
    await orders.set_delivery(first.id, "courier", "Львів", address="вул. Городоцька, 5")
    new = await orders.confirm(first.id, "customer:1")
    draft = await orders.start_order(2, product.sku, "L", "білий")
    return new, draft


async def test_list_orders_filters_by_status(orders_client, placed):
    new, draft = placed

    everything = await orders_client.get(BASE, headers=ADMIN)
    only_new = await orders_client.get(BASE, params={"status": "new"}, headers=ADMIN)

    assert everything.status_code == 200
    assert [o["id"] for o in everything.json()["items"]] == [draft.id, new.id]
    body = only_new.json()
    assert (body["total"], body["items"][0]["number"]) == (1, new.number)
    assert body["items"][0]["total"] == "599.00" and body["items"][0]["currency"] == "UAH"


async def test_unknown_status_filter_is_422(orders_client, placed):
    response = await orders_client.get(BASE, params={"status": "lost"}, headers=ADMIN)
    assert response.status_code in {400, 422}


async def test_get_order_shows_lines_and_history(orders_client, placed):
    new, _ = placed

    response = await orders_client.get(f"{BASE}/{new.id}", headers=ADMIN)

    body = response.json()
    assert response.status_code == 200
    assert body["lines"][0]["unit_price"] == "599.00"
    assert [e["to_status"] for e in body["events"]] == ["draft", "new"]
    assert body["delivery_method"] == "courier" and body["phone"] == "+380671234567"


async def test_status_change_answers_the_order_and_records_the_admin(orders_client, placed):
    new, _ = placed

    response = await orders_client.post(
        f"{BASE}/{new.id}/status", json={"status": "confirmed", "note": "called"}, headers=ADMIN
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "confirmed"
    assert body["events"][-1] | {"at": None} == {
        "from_status": "new",
        "to_status": "confirmed",
        "actor": "admin-api",
        "note": "called",
        "at": None,
    }


async def test_illegal_status_change_is_409_with_the_reason(orders_client, placed):
    _, draft = placed

    response = await orders_client.post(
        f"{BASE}/{draft.id}/status", json={"status": "shipped"}, headers=ADMIN
    )

    assert response.status_code == 409
    assert response.json()["detail"] == (f"order {draft.number} is draft; it cannot become shipped")


async def test_unknown_order_is_404(orders_client, placed):
    got = await orders_client.get(f"{BASE}/999999", headers=ADMIN)
    moved = await orders_client.post(
        f"{BASE}/999999/status", json={"status": "cancelled"}, headers=ADMIN
    )
    assert (got.status_code, moved.status_code) == (404, 404)
    assert got.json()["detail"] == "no order with id 999999"


async def test_orders_api_needs_the_admin_token(orders_client, placed):
    new, _ = placed
    wrong = {"Authorization": "Bearer nope"}

    answers = [
        await orders_client.get(BASE),
        await orders_client.get(f"{BASE}/{new.id}", headers=wrong),
        await orders_client.post(f"{BASE}/{new.id}/status", json={"status": "cancelled"}),
    ]

    assert [a.status_code for a in answers] == [401, 401, 401]
