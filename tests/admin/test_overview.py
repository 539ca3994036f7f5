"""The overview: today's figures from Postgres (conversations, photos by identification path,
orders and revenue, hand-offs and the escalation rate) and a server-side SVG chart."""

from __future__ import annotations

import re

from app.orders.service import OrderService
from tests.admin.conftest import shown
from tests.bot.test_conversation import Customer
from tests.fixtures_demo import demo_photo


def figure(page: str, title: str) -> str:
    found = re.search(rf'<div class="muted">{title}</div><div class="value">([^<]+)</div>', page)
    assert found, title
    return found.group(1)


async def test_todays_figures_follow_what_customers_did(owner, client, telegram, session_factory):
    empty = shown(await owner.get("/admin"))
    assert figure(empty, "Розмов") == "0" and "розмов ще не було" in empty
    await Customer(client, telegram, 901).sends_photo(demo_photo("KR-KS-001.png"))
    await Customer(client, telegram, 902).says("покличте менеджера")
    orders = OrderService(session_factory)
    draft = await orders.start_order(903, "KR-KS-002", "M", "графітовий")
    await orders.set_contact(draft.id, "Олена", "0671234567")
    await orders.set_delivery(draft.id, "courier", "Львів", address="вул. Городоцька, 5")
    await orders.confirm(draft.id, "customer:903")

    page = shown(await owner.get("/admin")).replace("\xa0", " ")
    assert figure(page, "Розмов") == "2"
    assert figure(page, "Замовлень") == "1" and "1 650 грн" in page
    assert figure(page, "Передач людині") == "1" and "50 % розмов" in page
    assert figure(page, "Фото від клієнтів") == "1" and "фото каталогу: 1" in page
    assert "бюджет не задано" in page
    chart = re.search(r"<svg[^>]*>.*?</svg>", page, re.S)
    assert chart and chart.group(0).count("<rect") >= 3  # today's three bars at least
    assert "<script" not in chart.group(0)
