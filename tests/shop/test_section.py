"""The shop section: read from the catalog file (or shop.yaml beside it) with `file:line`
problems, stored in Postgres, exported and imported back unchanged, edited through
`ShopService`."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.catalog.errors import CatalogFileError
from app.catalog.exporter import export_catalog
from app.catalog.importer import import_catalog, load_catalog
from app.catalog.version import CatalogVersion
from app.dialog.truth import allowed_prices, strip_untrue_prices
from app.shop.errors import InvalidShopSectionError
from app.shop.service import ShopService
from tests.fixtures_demo import DEMO

PRODUCT = {
    "sku": "KR-T-001",
    "name": "Футболка «Тест»",
    "category": "футболки",
    "price": "500",
    "sizes": ["M"],
    "colours": ["білий"],
    "stock": [{"size": "M", "colour": "білий", "qty": "2"}],
}


def demo_shop() -> dict[str, Any]:
    shop: dict[str, Any] = yaml.safe_load(DEMO.read_text(encoding="utf-8"))["shop"]
    return shop


def write(
    folder: Path, shop: dict[str, Any] | None = None, *, beside: dict[str, Any] | None = None
) -> Path:
    path = folder / "products_master.yaml"
    document: dict[str, Any] = {"products": [PRODUCT]}
    if shop is not None:
        document = {"shop": shop, **document}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    if beside is not None:
        (folder / "shop.yaml").write_text(
            yaml.safe_dump({"shop": beside}, allow_unicode=True), encoding="utf-8"
        )
    return path


def load(path: Path):
    return load_catalog(path, max_catalog_bytes=1_000_000, max_photo_bytes=1_000_000)


def problems(path: Path) -> list[str]:
    with pytest.raises(CatalogFileError) as caught:
        load(path)
    return caught.value.problems


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def test_the_demo_shop_ships_delivery_payment_returns_charts_contacts_and_hours():
    shop = load(DEMO).shop
    assert shop is not None
    carriers = {o.carrier for o in shop.delivery.options}
    assert {"nova_poshta", "ukrposhta", "courier"} <= carriers
    assert {o.kind for o in shop.payment.options} == {"cash_on_delivery", "card", "iban"}
    assert shop.returns.days == 14 and shop.returns.exchange
    assert shop.chart_for("джинси") is not None and shop.chart_for("худі") is not None
    assert shop.contacts.phone and shop.hours
    assert Decimal("80.00") in shop.amounts()


def test_a_wrong_price_in_the_section_is_a_file_line_problem(tmp_path):
    shop = demo_shop()
    shop["delivery"]["options"][1]["price"] = "12:50"
    shop["returns"]["days"] = 7
    path = write(tmp_path, shop)

    found = problems(path)

    price_line = line_of(path, "price: '12:50'")
    assert any(
        p.startswith(f"{path}:{price_line}: shop.delivery.options[1].price: must be plain digits")
        for p in found
    ), found
    days_line = line_of(path, "days: 7")
    assert any(
        p.startswith(f"{path}:{days_line}: shop.returns.days: must be at least 14") for p in found
    ), found


def test_unknown_and_missing_fields_of_the_section_are_named(tmp_path):
    shop = demo_shop()
    shop["delivery"]["options"][0]["prise"] = "80"
    del shop["payment"]
    path = write(tmp_path, shop)

    found = problems(path)

    assert f"{path}:{line_of(path, 'prise:')}: shop.delivery.options[0].prise: unknown field" in (
        found
    )
    assert any(p.endswith("shop.payment: missing (required)") for p in found), found


def test_a_shop_yaml_beside_the_catalog_is_read_and_two_sections_are_refused(tmp_path):
    path = write(tmp_path, beside=demo_shop())
    assert load(path).shop == load(DEMO).shop

    both = write(tmp_path, demo_shop(), beside=demo_shop())
    [problem] = problems(both)
    assert "shop.yaml:2: shop: the shop section is given twice (also in" in problem


async def test_the_section_is_stored_exported_and_imported_back_unchanged(
    session_factory, tmp_path
):
    first = await import_catalog(session_factory, load(write(tmp_path, demo_shop())))
    assert first.shop == "added" and "shop section added" in first.summary()
    out = tmp_path / "export" / "products_master.yaml"
    out.parent.mkdir()
    await export_catalog(session_factory, out)

    again = await import_catalog(session_factory, load(out))

    assert again.shop == "unchanged" and not again.changed
    assert load(out).shop == load(DEMO).shop


async def test_a_catalog_without_a_section_leaves_the_stored_one(session_factory, tmp_path):
    await import_catalog(session_factory, load(write(tmp_path, demo_shop())))
    plan = await import_catalog(session_factory, load(write(tmp_path)))
    assert plan.shop is None
    assert await ShopService(session_factory).get() == load(DEMO).shop


async def test_an_update_through_the_service_is_seen_by_every_reader(db, session_factory):
    version = CatalogVersion(db)
    await version.start()
    try:
        editor, reader = ShopService(session_factory), ShopService(session_factory, version)
        assert await reader.get() is None
        shop = load(DEMO).shop
        assert shop is not None
        await editor.update(shop, by="admin:olena")
        cheaper = shop.model_copy(deep=True)
        cheaper.delivery.options[0].price = Decimal("65.00")
        await editor.update(cheaper, by="admin:olena")
        for _ in range(50):  # the reader hears of the write through the catalog NOTIFY
            if await reader.get() == cheaper:
                break
            await asyncio.sleep(0.05)
        assert await reader.get() == cheaper
    finally:
        await version.stop()


async def test_the_admin_edits_the_section_through_the_service_and_bad_fields_are_named(
    session_factory,
):
    """The admin panel's save: a form's document, validated; a wrong field stores nothing."""
    service = ShopService(session_factory)
    shop = load(DEMO).shop
    assert shop is not None
    await service.update(shop, by="import")
    document = shop.model_dump(mode="json")
    document["delivery"]["options"][0]["price"] = "-5"
    document["returns"]["days"] = 7  # less than the law gives

    with pytest.raises(InvalidShopSectionError) as refused:
        await service.edit(document, by="admin:olena")

    assert any(p.startswith("delivery.options[0].price: ") for p in refused.value.problems)
    assert any(p.startswith("returns.days: ") for p in refused.value.problems)
    assert await service.get() == shop
    before = await service.edited()
    assert before is not None and before.by == "import"

    document = shop.model_dump(mode="json")
    document["delivery"]["options"][0]["price"] = "65.00"
    saved = await service.edit(document, by="admin:olena")

    assert saved.delivery.options[0].price == Decimal("65.00") and await service.get() == saved
    after = await service.edited()
    assert after is not None and after.by == "admin:olena" and after.at > before.at


DEMO_SHOP = load(DEMO).shop


@settings(max_examples=200, deadline=None)
@example(amount=80, words="грн")  # the Nova Poshta branch
@example(amount=2000, words="гривень")  # free delivery from
@example(amount=20, words="грн")  # the cash-on-delivery fee
@example(amount=81, words="грн")
@given(amount=st.integers(min_value=1, max_value=5000), words=st.sampled_from(["грн", "гривень"]))
def test_a_delivery_price_a_model_names_is_kept_only_when_the_section_states_it(amount, words):
    """The price guard with the shop section: "Доставка — 80 грн." survives only because 80 is
    the section's Nova Poshta price; any other amount is a sentence the customer never sees."""
    assert DEMO_SHOP is not None
    allowed = allowed_prices([], shop=DEMO_SHOP.amounts())
    text = f"Доставка Новою поштою — {amount} {words}. Пишіть, якщо будуть питання."
    kept, dropped = strip_untrue_prices(text, allowed)
    stated = Decimal(amount) in DEMO_SHOP.amounts()
    assert (f"{amount} {words}" in kept) is stated
    assert dropped == (0 if stated else 1) and "Пишіть" in kept
