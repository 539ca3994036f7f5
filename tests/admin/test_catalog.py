"""Catalog pages: every change through `CatalogService`, seen at once by the API and the bot."""

from __future__ import annotations

import re

import yaml
from sqlalchemy import func, select

from app.admin.models import AuditEntry
from app.catalog.models import Photo, Product
from tests.admin.conftest import match, shown
from tests.admin.photos import new_photo
from tests.bot.test_conversation import Customer, said
from tests.fixtures_app import ADMIN

PRODUCT = "/admin/catalog/KR-KS-002"


def stamp_of(page) -> str:
    return match(r'name="updated_at" value="([^"]+)"', page.text).group(1)


def form_of(page, **changes: str) -> dict[str, str]:
    """The product form as the page filled it, with `changes` typed over it."""
    import html

    fields = {
        name: html.unescape(value)
        for name, value in re.findall(
            r'<input type="text" id="f-\w+" name="(\w+)" value="([^"]*)"', page.text
        )
    }
    for name, value in re.findall(
        r'<textarea id="f-\w+" name="(\w+)"[^>]*>([^<]*)</textarea>', page.text
    ):
        fields[name] = html.unescape(value)
    return {**fields, "updated_at": stamp_of(page), **changes}


async def audit(session_factory, action: str) -> list[AuditEntry]:
    async with session_factory() as session:
        return list(await session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


async def test_a_price_changed_in_the_panel_is_in_the_api_and_the_bots_next_reply(
    owner, client, telegram, session_factory
):
    page = await owner.get(PRODUCT)
    response = await owner.post(PRODUCT, form_of(page, price="1777,50"))
    assert response.status_code == 200 and "Збережено." in shown(response)
    assert (await client.get("/api/v1/products/KR-KS-002")).json()["price"] == "1777.50"
    [card] = await Customer(client, telegram, 601).says("скільки коштує KR-KS-002")
    assert "1 777,50 грн" in said(card)
    [entry] = await audit(session_factory, "product.update")
    assert entry.actor == "olha" and entry.target == "KR-KS-002"
    assert entry.before == {"price": "1650.00"} and entry.after == {"price": "1777.50"}
    assert entry.address == "testclient"


async def test_stock_changed_inline_is_what_the_bot_answers_next(owner, client, telegram):
    customer = Customer(client, telegram, 602)
    [yes] = await customer.says("є KR-KS-002 в розмірі M?")
    assert "M — є: графітовий" in said(yes)
    row = await owner.htmx(
        f"{PRODUCT}/stock", {"size": "M", "colour": "графітовий", "on_hand": "0"}
    )
    assert row.status_code == 200 and row.text.lstrip().startswith("<tr")
    assert 'name="on_hand" value="0"' in row.text and "збережено" in row.text
    card = (await client.get("/api/v1/products/KR-KS-002")).json()
    assert {(v["size"], v["available"]) for v in card["variants"] if v["size"] == "M"} == {("M", 0)}
    answer = await customer.says("є KR-KS-002 в розмірі M?")
    assert answer and not any("M — є" in said(m) for m in answer)
    assert any("немає" in said(m) for m in answer)


async def test_on_hand_and_reserved_are_shown_apart(owner, client, telegram):
    customer = Customer(client, telegram, 603)
    await customer.presses("o:KR-KS-002")
    await customer.presses("s:KR-KS-002:S")
    await customer.presses("c:KR-KS-002:S:пудровий")  # one piece reserved by a draft
    page = await owner.get(PRODUCT)
    row = match(
        r'<tr class="stock-row" data-size="S" data-colour="пудровий">.*?</tr>', page.text, re.S
    )
    cells = re.findall(r'<td class="num" data-label="[^"]+">(\d+)', row.group(0))
    assert 'name="on_hand" value="7"' in row.group(0) and cells == ["1", "6"]


async def test_a_bad_stock_value_is_explained_in_the_row_and_nothing_changes(owner, client):
    for bad in ("-1", "abc", "1.5", "99999999"):
        row = await owner.htmx(
            f"{PRODUCT}/stock", {"size": "S", "colour": "пудровий", "on_hand": bad}
        )
        assert row.status_code == 422 and "кількість — ціле число" in shown(row), bad
    stock = (await client.get("/api/v1/admin/products/KR-KS-002", headers=ADMIN)).json()["stock"]
    assert next(s for s in stock if (s["size"], s["colour"]) == ("S", "пудровий"))["on_hand"] == 7


async def test_the_second_of_two_managers_editing_a_product_is_told_and_loses_nothing(
    owner, manager_client, client
):
    first = await owner.get(PRODUCT)
    second = await manager_client.get(PRODUCT)
    await owner.post(PRODUCT, form_of(first, price="1700"))
    clash = await manager_client.post(
        PRODUCT, form_of(second, price="1600", name="Костюм «Мрія лайт» новий")
    )
    assert clash.status_code == 409
    page = shown(clash)
    assert "Товар змінив хтось інший" in page and "Нічого не збережено" in page
    assert 'value="Костюм «Мрія лайт» новий"' in page and 'value="1600"' in page
    assert (await client.get("/api/v1/products/KR-KS-002")).json()["price"] == "1700.00"
    # The page carries the current version now: saving again is a deliberate overwrite.
    again = await manager_client.post(PRODUCT, form_of(clash, price="1600"))
    assert again.status_code == 200
    assert (await client.get("/api/v1/products/KR-KS-002")).json()["price"] == "1600.00"


async def test_a_bad_field_is_explained_and_the_form_keeps_what_was_typed(owner, client):
    page = await owner.get(PRODUCT)
    response = await owner.post(PRODUCT, form_of(page, price="12:50", name=""))
    assert response.status_code == 422
    text_ = shown(response)
    assert "ціна — це цифри" in text_ and 'value="12:50"' in text_
    assert (await client.get("/api/v1/products/KR-KS-002")).json()["price"] == "1650.00"


async def test_a_photo_uploaded_in_the_panel_is_identified_by_the_bot(
    owner, client, telegram, session_factory
):
    photo = new_photo(seed=1)
    customer = Customer(client, telegram, 604)
    before = await customer.sends_photo(photo)
    assert not any("Мрія лайт" in said(m) for m in before)
    response = await owner.post(
        f"{PRODUCT}/photos", files={"photo": ("new.png", photo, "image/png")}
    )
    assert response.status_code == 200 and "Фото додано" in shown(response)
    async with session_factory() as session:
        stored = (
            await session.execute(
                select(Photo.source, Photo.phash, Photo.position)
                .join(Product)
                .where(Product.sku == "KR-KS-002")
                .order_by(Photo.position)
            )
        ).all()
    assert stored[-1].phash is not None and stored[-1].source.startswith("photos/KR-KS-002-")
    shown_again = await owner.get(f"{PRODUCT}/photos/{stored[-1].position}")
    assert shown_again.content == photo and shown_again.headers["content-type"] == "image/png"
    after = await Customer(client, telegram, 605).sends_photo(photo)
    assert after[0].method == "sendPhoto" and "Мрія лайт" in said(after[0])


async def test_a_file_that_is_not_a_photo_is_refused_and_nothing_is_stored(owner, session_factory):
    gif = b"GIF89a" + b"\x00" * 64
    response = await owner.post(f"{PRODUCT}/photos", files={"photo": ("x.gif", gif, "image/gif")})
    assert response.status_code == 422 and "фото не прийнято" in shown(response)
    bomb = new_photo(seed=2, size=128)
    import struct
    import zlib

    # A PNG whose header claims 50,000 × 50,000 pixels: refused before any pixel is decoded.
    header = struct.pack(">IIBBBBB", 50_000, 50_000, 8, 2, 0, 0, 0)
    ihdr = b"IHDR" + header
    big = bomb[:8] + struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr)) + bomb[33:]
    refused = await owner.post(f"{PRODUCT}/photos", files={"photo": ("b.png", big, "image/png")})
    assert refused.status_code == 422
    async with session_factory() as session:
        count = await session.scalar(
            select(func.count(Photo.id)).join(Product).where(Product.sku == "KR-KS-002")
        )
    assert count == 1  # the demo photo only


async def test_a_new_product_with_its_photo_is_sold_at_once(owner, client, telegram):
    photo = new_photo(seed=3)
    response = await owner.post(
        "/admin/catalog/new",
        {
            "sku": "kr-new-001",
            "name": "Шапка «Сніжка»",
            "category": "шапки",
            "price": "499",
            "sizes": "one size",
            "colours": "білий, сірий",
            "description": "Тепла в'язана шапка.",
            "tags": "шапка, зима",
        },
        files={"photos": ("s.png", photo, "image/png")},
    )
    assert response.status_code == 200 and "Товар додано" in shown(response)
    card = (await client.get("/api/v1/products/KR-NEW-001")).json()
    assert card["price"] == "499.00" and len(card["photos"]) == 1
    assert card["in_stock"] is False  # stock starts at 0, set on the product's page
    await owner.htmx(
        "/admin/catalog/KR-NEW-001/stock", {"size": "one size", "colour": "білий", "on_hand": "4"}
    )
    answer = await Customer(client, telegram, 606).sends_photo(photo)
    assert "Сніжка" in said(answer[0])


async def test_a_new_product_with_a_bad_photo_is_not_created(owner, client):
    response = await owner.post(
        "/admin/catalog/new",
        {
            "sku": "KR-NEW-002",
            "name": "Шарф",
            "category": "шарфи",
            "price": "300",
            "sizes": "one",
            "colours": "синій",
        },
        files={"photos": ("s.txt", b"not an image at all", "text/plain")},
    )
    assert response.status_code == 422 and "фото не прийнято" in shown(response)
    assert 'value="Шарф"' in shown(response)
    assert (await client.get("/api/v1/products/KR-NEW-002")).status_code == 404


async def test_an_existing_sku_is_refused_for_a_new_product(owner):
    response = await owner.post(
        "/admin/catalog/new",
        {
            "sku": "KR-KS-001",
            "name": "Дубль",
            "category": "костюми",
            "price": "1",
            "sizes": "S",
            "colours": "чорний",
        },
    )
    assert response.status_code == 409 and "Товар з таким артикулом уже є" in shown(response)


async def test_hiding_a_product_takes_it_from_customers_and_showing_brings_it_back(
    owner, client, session_factory
):
    await owner.post(f"{PRODUCT}/deactivate")
    assert (await client.get("/api/v1/products/KR-KS-002")).status_code == 404
    page = await owner.get(PRODUCT)
    assert "приховано" in page.text and (await owner.get(f"{PRODUCT}/photos/0")).status_code == 200
    await owner.post(f"{PRODUCT}/activate")
    assert (await client.get("/api/v1/products/KR-KS-002")).status_code == 200
    actions = [e.action for e in await audit(session_factory, "product.deactivate")]
    actions += [e.action for e in await audit(session_factory, "product.activate")]
    assert actions == ["product.deactivate", "product.activate"]


async def test_the_list_searches_and_filters(owner):
    found = shown(await owner.get("/admin/catalog", params={"q": "мрія"}))
    assert "KR-KS-001" in found and "KR-KS-002" in found and "KR-FT" not in found
    by_category = shown(await owner.get("/admin/catalog", params={"category": "костюми"}))
    assert "KR-KS-001" in by_category
    await owner.post(f"{PRODUCT}/deactivate")
    hidden = shown(await owner.get("/admin/catalog", params={"status": "hidden"}))
    assert "KR-KS-002" in hidden and "KR-KS-001" not in hidden
    active = shown(await owner.get("/admin/catalog"))
    assert "KR-KS-002" not in active


async def test_an_import_shows_the_dry_run_first_and_applies_it_on_confirmation(
    owner, client, session_factory
):
    exported = await owner.get("/admin/catalog/export")
    assert exported.headers["content-disposition"].startswith("attachment")
    document = yaml.safe_load(exported.text)
    product = next(p for p in document["products"] if p["sku"] == "KR-KS-002")
    product["price"] = 1999
    body = yaml.safe_dump(document, allow_unicode=True).encode()
    preview = await owner.post(
        "/admin/catalog/import", files={"file": ("products_master.yaml", body, "application/yaml")}
    )
    assert preview.status_code == 200
    page = shown(preview)
    assert "KR-KS-002</a>: price" in page and "Застосувати" in page
    assert (await client.get("/api/v1/products/KR-KS-002")).json()["price"] == "1650.00"
    action = match(r'action="(/admin/catalog/import/[^"]+)"', preview.text).group(1)
    done = await owner.post(action)
    assert done.status_code == 200 and "Каталог оновлено" in shown(done)
    assert (await client.get("/api/v1/products/KR-KS-002")).json()["price"] == "1999.00"
    [entry] = await audit(session_factory, "catalog.import")
    assert entry.after is not None and entry.after["changed"] == {"KR-KS-002": ["price"]}
    assert (await owner.post(action)).status_code == 404  # applied once


async def test_a_catalog_changed_after_the_preview_is_previewed_again(owner, client):
    exported = yaml.safe_load((await owner.get("/admin/catalog/export")).text)
    next(p for p in exported["products"] if p["sku"] == "KR-KS-002")["price"] = 1999
    body = yaml.safe_dump(exported, allow_unicode=True).encode()
    preview = await owner.post(
        "/admin/catalog/import", files={"file": ("c.yaml", body, "application/yaml")}
    )
    action = match(r'action="(/admin/catalog/import/[^"]+)"', preview.text).group(1)
    await client.put("/api/v1/admin/products/KR-KS-001/price", json={"price": "10"}, headers=ADMIN)
    again = await owner.post(action)
    assert again.status_code == 200 and "Каталог змінився після перевірки" in shown(again)
    assert (await client.get("/api/v1/products/KR-KS-002")).json()["price"] == "1650.00"
    done = await owner.post(action)
    assert "Каталог оновлено" in shown(done)


async def test_an_invalid_catalog_file_lists_its_problems_and_writes_nothing(owner, client):
    body = b"products:\n  - sku: bad sku\n    name: X\n"
    response = await owner.post(
        "/admin/catalog/import", files={"file": ("c.yaml", body, "application/yaml")}
    )
    assert response.status_code == 422
    assert "У файлі є помилки" in shown(response) and "c.yaml:2" in shown(response)


async def test_another_persons_upload_cannot_be_applied(owner, manager_client):
    exported = (await owner.get("/admin/catalog/export")).text.encode()
    preview = await owner.post(
        "/admin/catalog/import", files={"file": ("c.yaml", exported, "application/yaml")}
    )
    action = match(r'action="(/admin/catalog/import/[^"]+)"', preview.text).group(1)
    assert (await manager_client.post(action)).status_code == 404
