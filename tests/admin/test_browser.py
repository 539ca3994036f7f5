"""The panel in real headless Chromium on a phone-sized screen: sign in, change a price and a
stock count (the inline htmx form, its CSRF header set by admin.js), and the product card in the
API and the bot's next reply through the webhook show both. Screenshots go to ARTIFACTS."""

from __future__ import annotations

import httpx

from app.server import create_app
from tests.admin.conftest import OWNER, panel_settings
from tests.admin.live import ARTIFACTS, served
from tests.bot.conftest import HEADERS, wait_for
from tests.bot.test_conversation import said

PHONE = {"width": 390, "height": 844}  # an iPhone 12-13 screen in CSS pixels


async def bot_reply(http, telegram, chat_id: int, text: str) -> str:
    before = len(telegram.sent(chat_id))
    update = telegram.message_update(chat_id, text)
    assert (await http.post("/telegram/webhook", json=update, headers=HEADERS)).status_code == 200
    await wait_for(telegram, lambda _: len(telegram.sent(chat_id)) > before)
    return "\n".join(said(m) for m in telegram.sent(chat_id)[before:])


async def test_a_manager_on_a_phone_changes_a_price_and_stock_and_the_bot_says_so(
    chromium, database_url, db, telegram, demo_catalog, users
):
    # http on 127.0.0.1: cookies cannot be Secure here (behind TLS they are, see test_auth).
    app = create_app(panel_settings(database_url, telegram, secure_cookies=False))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with served(app) as base, httpx.AsyncClient(base_url=base) as http:
        context = await chromium.new_context(
            base_url=base, viewport=PHONE, is_mobile=True, has_touch=True, locale="uk-UA"
        )
        page = await context.new_page()
        problems: list[str] = []
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on(
            "response",
            lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
        )

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
        assert "(розмір M) є в наявності" not in sized
    assert width <= PHONE["width"]
    assert problems == []  # no CSP refusal, no script error
