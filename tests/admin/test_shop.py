"""The shop-info page: owners edit the shop section through `ShopService.edit`, the bot's next
answer says what they saved, a wrong field is explained beside itself and nothing is stored."""

from __future__ import annotations

from html.parser import HTMLParser

import yaml
from sqlalchemy import select

from app.admin.models import AuditEntry
from app.admin.views.shop_form import ShopForm
from app.shop.schemas import Shop
from app.shop.service import ShopService, validated
from tests.admin.conftest import shown
from tests.bot.test_conversation import Customer, said
from tests.fixtures_demo import DEMO

SHOP = "/admin/shop"
DELIVERY = "скільки коштує доставка?"


class _Fields(HTMLParser):
    """The fields of a page's `#shop-form` as a browser would send them."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self._inside = False
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._inside = a.get("id") == "shop-form"
        if not self._inside or ("name" not in a and tag != "option"):
            return
        if tag == "input" and (a.get("type") != "checkbox" or "checked" in a):
            self.fields[a["name"]] = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a["name"]
            self.fields[a["name"]] = ""
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields[self._select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self.fields[self._textarea] += data


def form_of(page, **changes: str) -> dict[str, str]:
    """The shop form as the page filled it, with `changes` typed over it."""
    parser = _Fields()
    parser.feed(page.text)
    fields = {k: v for k, v in parser.fields.items() if k != "_csrf_token"}
    assert "delivery.0.carrier" in fields and "payment.0.kind" in fields  # the form was read
    return {**fields, **changes}


async def stored_shop(session_factory) -> Shop | None:
    """The section as Postgres has it (through the test's own connections)."""
    return await ShopService(session_factory).get()


def demo_shop() -> Shop:
    return Shop.model_validate(yaml.safe_load(DEMO.read_text(encoding="utf-8"))["shop"])


async def test_the_form_shows_the_section_and_sends_it_back_unchanged():
    shop = demo_shop()
    form = ShopForm.of(shop)
    assert validated(form.document()) == shop
    # Every stored row, and one blank row to add to each list.
    rows = {"delivery": [0, 1, 2, 3, 4], "payment": [0, 1, 2, 3], "chart": [0, 1, 2, 3]}
    assert form.rows == rows
    assert form.values["chart.1.table"].splitlines()[:2] == [
        "Розмір | Талія | Стегна | Зріст",
        "25 | 62–64 | 88–90 | 160–168",
    ]


async def test_a_delivery_price_changed_by_the_owner_is_the_bots_next_answer(
    owner, client, telegram, session_factory
):
    customer = Customer(client, telegram, 701)
    assert "80 грн" in said((await customer.says(DELIVERY))[0])
    page = await owner.get(SHOP)
    assert "Востаннє змінено" in shown(page) and "імпорт файлу каталогу" in shown(page)
    assert 'value="Нова Пошта, відділення"' in page.text and 'value="80.00"' in page.text

    saved = await owner.post(SHOP, form_of(page, **{"delivery.0.price": "95"}))

    assert saved.status_code == 200 and "Інформацію про магазин збережено" in shown(saved)
    assert "olha (панель)" in shown(saved)
    answer = said((await customer.says(DELIVERY))[0])
    assert "Нова Пошта, відділення: 95 грн" in answer and "80 грн" not in answer
    async with session_factory() as session:
        [entry] = await session.scalars(
            select(AuditEntry).where(AuditEntry.action == "shop.update")
        )
    assert entry.actor == "olha" and entry.address == "testclient"
    assert set(entry.before or {}) == set(entry.after or {}) == {"delivery"}
    assert entry.before["delivery"]["options"][0]["price"] == "80.00"
    assert entry.after["delivery"]["options"][0]["price"] == "95.00"


async def test_wrong_fields_are_shown_beside_themselves_and_nothing_is_stored(
    owner, client, telegram, session_factory
):
    page = await owner.get(SHOP)
    sent = form_of(
        page,
        **{
            "delivery.1.price": "12:50",
            "returns.days": "7",
            "chart.2.table": "Розмір | Груди\nXS | 80–84 | 58",
            "name": "",
            "payment.0.title": "Післяплата",
        },
    )
    refused = await owner.post(SHOP, sent)

    assert refused.status_code == 422
    text = shown(refused)
    assert "Нічого не збережено" in text
    for field, message in {
        "delivery.1.price": "ціна — це цифри",
        "returns.days": "від 14 до 365 днів",
        "chart.2.table": "рядок 2: клітинок 3, а в першому рядку (заголовку) 2",
        "name": "не може бути порожнім",
    }.items():
        after_field = text.split(f'name="{field}"', 1)[1]
        assert (
            f'<p class="field-error" id="e-{field}">{message}' in after_field.split("<label", 1)[0]
        ), field
    assert 'value="Післяплата"' in refused.text and 'value="12:50"' in refused.text
    stored = await stored_shop(session_factory)
    assert stored == demo_shop()
    assert "80 грн" in said((await Customer(client, telegram, 702).says(DELIVERY))[0])


async def test_an_option_is_added_in_the_blank_row_and_another_removed(owner, session_factory):
    page = await owner.get(SHOP)
    sent = form_of(
        page,
        **{
            "delivery.3.remove": "1",  # Ukrposhta
            "delivery.4.carrier": "pickup",
            "delivery.4.title": "Самовивіз із шоуруму",
            "delivery.4.price": "0",
            "delivery.4.days": "у день замовлення",
        },
    )
    assert (await owner.post(SHOP, sent)).status_code == 200
    shop = await stored_shop(session_factory)
    assert shop is not None
    assert [(o.id, o.title) for o in shop.delivery.options] == [
        ("np_branch", "Нова Пошта, відділення"),
        ("np_locker", "Нова Пошта, поштомат"),
        ("np_courier", "Кур'єр Нової Пошти за адресою"),
        ("pickup", "Самовивіз із шоуруму"),
    ]
    again = await owner.get(SHOP)
    assert 'name="delivery.4.title" value=""' in again.text  # room for one more


async def test_a_manager_is_refused_the_shop_page_and_cannot_save(manager, session_factory):
    page = await manager.get(SHOP)
    assert page.status_code == 403
    assert "Цей розділ доступний лише власникам магазину." in shown(page)
    assert 'href="/admin/shop"' not in (await manager.get("/admin")).text
    refused = await manager.post(SHOP, {"name": "Інший магазин"})
    assert refused.status_code == 403
    assert (await stored_shop(session_factory)) == demo_shop()
