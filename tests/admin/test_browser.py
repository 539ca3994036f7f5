"""The panel in real headless Chromium on a phone-sized screen: sign in, change a price and a
stock count (the inline htmx form, its CSRF header set by admin.js), and the product card in the
API and the bot's next reply through the webhook show both; a manager answers a hand-off and is
refused the accounts page; an owner edits the shop's delivery price (the bot's delivery answer
follows) and adds a photo (the bot identifies it), a form without its CSRF token is refused and a
session that ended sends the person to sign in and back. Screenshots go to ARTIFACTS."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, update

from app.admin.models import AdminSession
from app.admin.security import CSRF_FIELD
from app.server import create_app
from tests.admin.conftest import MANAGER, OWNER, panel_settings
from tests.admin.live import ARTIFACTS, served
from tests.admin.photos import new_photo
from tests.bot.conftest import HEADERS, wait_for
from tests.bot.test_conversation import said

BACK_TO_BOT = "button:has-text('Повернути боту')"
PHONE = {"width": 390, "height": 844}  # an iPhone 12-13 screen in CSS pixels
DELIVERY = "скільки коштує доставка?"


async def _answer(http, telegram, chat_id: int, message: dict[str, Any]) -> str:
    before = len(telegram.sent(chat_id))
    assert (await http.post("/telegram/webhook", json=message, headers=HEADERS)).status_code == 200
    await wait_for(telegram, lambda _: len(telegram.sent(chat_id)) > before)
    return "\n".join(said(m) for m in telegram.sent(chat_id)[before:])


async def bot_reply(http, telegram, chat_id: int, text: str) -> str:
    """What the bot answers `text` through the webhook."""
    return await _answer(http, telegram, chat_id, telegram.message_update(chat_id, text))


async def bot_sends_photo(http, telegram, chat_id: int, photo: bytes) -> str:
    """What the bot answers a customer's photo through the webhook."""
    return await _answer(http, telegram, chat_id, telegram.message_update(chat_id, photo=photo))


class Watch:
    """What went wrong in a page: script errors and console errors (a CSP refusal is one), and
    answers of 400 and above (path, status)."""

    def __init__(self, page: Any) -> None:
        self.errors: list[str] = []
        self.failed: list[tuple[int, str]] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on(
            "response",
            lambda r: (
                self.failed.append((r.status, urlsplit(r.url).path)) if r.status >= 400 else None
            ),
        )


async def phone(chromium: Any, base: str) -> Any:
    return await chromium.new_context(
        base_url=base, viewport=PHONE, is_mobile=True, has_touch=True, locale="uk-UA"
    )


async def test_a_manager_on_a_phone_changes_a_price_and_stock_and_the_bot_says_so(
    chromium, database_url, db, telegram, demo_catalog, users
):
    # http on 127.0.0.1: cookies cannot be Secure here (behind TLS they are, see test_auth).
    app = create_app(panel_settings(database_url, telegram, secure_cookies=False))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        context = await phone(chromium, base)
        page = await context.new_page()
        watch = Watch(page)

        await page.goto("/admin/catalog/KR-KS-002")
        assert page.url.endswith("/admin/login?next=/admin/catalog/KR-KS-002")
        await page.fill("#username", OWNER[0])
        await page.fill("#password", OWNER[1])
        await page.click("button[type=submit]")
        await page.wait_for_url("**/admin/catalog/KR-KS-002")

        await page.fill("#f-price", "1599")
        await page.click("#product-form button[type=submit]")
        await page.wait_for_selector("text=Збережено.")
        await page.screenshot(path=ARTIFACTS / "price-saved-phone.png", full_page=True)

        row = page.locator('tr.stock-row[data-size="M"][data-colour="графітовий"]')
        await row.locator('input[name="on_hand"]').fill("0")
        await row.locator("button").click()
        await page.wait_for_selector(
            'tr.stock-row[data-size="M"][data-colour="графітовий"] >> text=збережено'
        )
        await page.screenshot(path=ARTIFACTS / "stock-saved-phone.png", full_page=True)
        # The phone layout: no sideways scrolling on a 390 px screen.
        width = await page.evaluate("document.documentElement.scrollWidth")
        await context.close()

        card = (await http.get("/api/v1/products/KR-KS-002")).json()
        assert card["price"] == "1599.00"
        assert {v["available"] for v in card["variants"] if v["size"] == "M"} == {0}
        priced = await bot_reply(http, telegram, 1001, "скільки коштує KR-KS-002")
        assert "1 599 грн" in priced
        sized = await bot_reply(http, telegram, 1001, "є KR-KS-002 в розмірі M?")
        assert "Костюм «Мрія лайт», M — немає." in sized
    assert width <= PHONE["width"]
    assert watch.errors == [] and watch.failed == []  # no CSP refusal, no script error, no 404


async def test_a_manager_answers_a_handoff_in_the_browser_and_is_refused_the_accounts(
    chromium, database_url, db, telegram, demo_catalog, users
):
    app = create_app(panel_settings(database_url, telegram, secure_cookies=False))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    chat = 1002
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        assert "менеджер" in await bot_reply(http, telegram, chat, "покличте менеджера")
        context = await phone(chromium, base)
        page = await context.new_page()
        watch = Watch(page)

        await page.goto("/admin/login")
        await page.fill("#username", MANAGER[0])
        await page.fill("#password", "not-my-password")
        await page.click("button[type=submit]")
        await page.wait_for_selector("text=Неправильне ім'я користувача або пароль")
        await page.fill("#password", MANAGER[1])
        await page.click("button[type=submit]")
        await page.wait_for_url("**/admin")

        refused = await page.goto("/admin/users")
        assert refused is not None and refused.status == 403
        await page.wait_for_selector("text=Цей розділ доступний лише власникам магазину.")

        await page.goto("/admin/handoffs")
        await page.click(f"a[href='/admin/handoffs/{chat}']")
        await page.click("button:has-text('Взяти розмову')")
        await page.wait_for_selector("text=взяв admin:taras")
        await page.fill("#text", "Добрий день! Я Тарас, допоможу.")
        await page.click("button:has-text('Надіслати')")
        await page.wait_for_url(f"**/admin/handoffs/{chat}?done=replied")
        await page.screenshot(path=ARTIFACTS / "handoff-replied-phone.png", full_page=True)
        assert said(telegram.sent(chat)[-1]) == "Добрий день! Я Тарас, допоможу."

        asked: list[str] = []

        async def settle(dialog: Any, *, accept: bool) -> None:
            asked.append(dialog.message)
            await (dialog.accept() if accept else dialog.dismiss())

        # "Back to the bot" asks first (data-confirm in admin.js): dismissed, nothing happens.
        page.once("dialog", lambda dialog: settle(dialog, accept=False))
        await page.click(BACK_TO_BOT)
        await asyncio.sleep(0.3)
        assert page.url.endswith(f"/admin/handoffs/{chat}?done=replied")
        page.once("dialog", lambda dialog: settle(dialog, accept=True))
        await page.click(BACK_TO_BOT)
        await page.wait_for_url("**/admin/handoffs?done=returned")
        assert asked == ["Повернути цю розмову боту?"] * 2
        await context.close()
        await wait_for(telegram, lambda _: "знову на зв'язку" in said(telegram.sent(chat)[-1]))
    assert watch.failed == [(401, "/admin/login"), (403, "/admin/users")]
    assert len(watch.errors) == 2 and all("Failed to load resource" in e for e in watch.errors)


async def expire_sessions(session_factory) -> None:
    """Every panel session past its idle timeout, as if the person had left for an hour (the
    store's own expiry check decides; the idle timeout itself is timed in test_auth)."""
    async with session_factory() as session, session.begin():
        await session.execute(
            update(AdminSession).values(expires_at=func.now() - timedelta(seconds=1))
        )


async def test_an_owner_edits_the_shop_adds_a_photo_and_a_forged_form_and_a_dead_session_fail(
    chromium, database_url, db, telegram, demo_catalog, users, session_factory
):
    app = create_app(panel_settings(database_url, telegram, secure_cookies=False))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    photo = new_photo(seed=11)
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        assert "80 грн" in await bot_reply(http, telegram, 1003, DELIVERY)
        assert "Мрія лайт" not in await bot_sends_photo(http, telegram, 1004, photo)
        context = await phone(chromium, base)
        page = await context.new_page()
        watch = Watch(page)
        await page.goto("/admin/shop")
        await page.fill("#username", OWNER[0])
        await page.fill("#password", OWNER[1])
        await page.click("button[type=submit]")
        await page.wait_for_url("**/admin/shop")

        # The shop page: a wrong price is explained beside its field, then corrected.
        price = page.locator('[name="delivery.0.price"]')
        await price.fill("дев'яносто")
        await page.click("#shop-form button[type=submit]")
        await page.locator('[id="e-delivery.0.price"]').wait_for()
        assert "ціна — це цифри" in await page.locator('[id="e-delivery.0.price"]').inner_text()
        await page.screenshot(path=ARTIFACTS / "shop-wrong-price-phone.png", full_page=True)
        await price.fill("95")
        await page.click("#shop-form button[type=submit]")
        await page.wait_for_selector("text=Інформацію про магазин збережено")
        assert "olha (панель)" in await page.locator("#edited").inner_text()
        await page.screenshot(path=ARTIFACTS / "shop-saved-phone.png", full_page=True)
        width = await page.evaluate("document.documentElement.scrollWidth")
        answer = await bot_reply(http, telegram, 1003, DELIVERY)
        assert "Нова Пошта, відділення: 95 грн" in answer and "80 грн" not in answer

        # A photo uploaded on the product page is the bot's answer to that photo.
        await page.goto("/admin/catalog/KR-KS-002")
        await page.set_input_files(
            "#photo", files=[{"name": "new.png", "mimeType": "image/png", "buffer": photo}]
        )
        await page.click("button:has-text('Завантажити')")
        await page.wait_for_selector("text=Фото додано")
        await page.screenshot(path=ARTIFACTS / "photo-added-phone.png", full_page=True)
        assert "Мрія лайт" in await bot_sends_photo(http, telegram, 1005, photo)

        # A form without its CSRF token (as another site would post it) is refused.
        await page.evaluate(
            f"document.querySelectorAll('#product-form [name={CSRF_FIELD}]')"
            ".forEach(function (field) { field.remove(); })"
        )
        await page.fill("#f-price", "1")
        await page.click("#product-form button[type=submit]")
        await page.wait_for_selector("text=Сторінка застаріла або форму надіслано не з панелі")
        await page.screenshot(path=ARTIFACTS / "csrf-refused-phone.png", full_page=True)
        assert (await http.get("/api/v1/products/KR-KS-002")).json()["price"] == "1650.00"

        # A session that ended while the form was open: sign in again, back on the same page.
        await page.goto("/admin/catalog/KR-KS-002")
        await expire_sessions(session_factory)
        await page.fill("#f-price", "1")
        await page.click("#product-form button[type=submit]")
        await page.wait_for_selector("text=Сесія завершилася: увійдіть знову.")
        await page.click("#back")
        await page.wait_for_url("**/admin/login?next=/admin/catalog/KR-KS-002")
        await page.fill("#username", OWNER[0])
        await page.fill("#password", OWNER[1])
        await page.click("button[type=submit]")
        await page.wait_for_url("**/admin/catalog/KR-KS-002")
        await context.close()
        assert (await http.get("/api/v1/products/KR-KS-002")).json()["price"] == "1650.00"
    assert width <= PHONE["width"]
    assert watch.failed == [
        (422, "/admin/shop"),
        (403, "/admin/catalog/KR-KS-002"),
        (401, "/admin/catalog/KR-KS-002"),
    ]
    assert all("Failed to load resource" in error for error in watch.errors), watch.errors
