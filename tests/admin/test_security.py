"""CSRF on every write (forms and htmx), the security headers on every panel answer, and no
inline script or style anywhere in the panel (its CSP allows none)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from app.admin.security import CSRF_COOKIE, CSRF_HEADER
from tests.admin.conftest import OWNER, match, shown
from tests.fixtures_app import ADMIN

TEMPLATES = Path(__file__).resolve().parents[2] / "app" / "admin" / "templates"
STATIC = TEMPLATES.parent / "static"


async def price_of(client, sku: str) -> str:
    return str((await client.get(f"/api/v1/products/{sku}")).json()["price"])


async def test_a_form_post_without_the_csrf_token_is_refused_and_changes_nothing(owner, client):
    page = await owner.get("/admin/catalog/KR-KS-001")
    stamp = match(r'name="updated_at" value="([^"]+)"', page.text).group(1)
    response = await client.post(
        "/admin/catalog/KR-KS-001",
        data={"name": "Злам", "category": "костюми", "price": "1", "updated_at": stamp},
    )
    assert response.status_code == 403
    assert "Сторінка застаріла або форму надіслано не з панелі" in shown(response)
    assert await price_of(client, "KR-KS-001") == "2450.00"


async def test_an_htmx_post_without_the_header_is_refused(owner, client):
    data = {"size": "S", "colour": "рожевий", "on_hand": "99"}
    response = await client.post(
        "/admin/catalog/KR-KS-001/stock", data=data, headers={"HX-Request": "true"}
    )
    assert response.status_code == 403
    assert response.headers["hx-retarget"] == "#notice"
    forged = await client.post(
        "/admin/catalog/KR-KS-001/stock",
        data=data,
        headers={"HX-Request": "true", CSRF_HEADER: "0" * 128},
    )
    assert forged.status_code == 403
    stock = (await client.get("/api/v1/admin/products/KR-KS-001", headers=ADMIN)).json()
    assert all(line["on_hand"] != 99 for line in stock["stock"])


async def test_the_sign_in_form_needs_its_token_too(client, users):
    await client.get("/admin/login")
    response = await client.post("/admin/login", data={"username": OWNER[0], "password": OWNER[1]})
    assert response.status_code == 403


async def test_the_csrf_cookie_is_httponly_secure_samesite_and_scoped_to_the_panel(client):
    response = await client.get("/admin/login")
    cookie = next(
        h for h in response.headers.get_list("set-cookie") if h.startswith(CSRF_COOKIE + "=")
    ).lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert "path=/admin" in cookie


async def test_every_panel_answer_carries_the_security_headers(owner, client):
    answers = [
        await owner.get("/admin"),
        await client.get("/admin/static/admin.css"),
        await client.post("/admin/logout"),  # refused by the CSRF middleware
        await owner.get("/admin/nothing-here"),
    ]
    for response in answers:
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "same-origin"
        assert response.headers["x-frame-options"] == "DENY"
    assert answers[0].headers["cache-control"] == "no-store"
    assert answers[2].status_code == 403 and answers[3].status_code == 404
    assert "strict-transport-security" in answers[0].headers  # the public URL is https


async def test_the_api_keeps_its_own_answers(client):
    response = await client.get("/api/v1/products/KR-KS-001")
    assert "content-security-policy" not in response.headers
    assert response.headers["content-type"].startswith("application/json")


def test_no_template_has_inline_script_style_or_event_handlers():
    for template in TEMPLATES.glob("*.html"):
        html = template.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), template.name
        assert "<style" not in html, template.name
        assert not re.search(r"\sstyle\s*=", html), template.name
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert "hx-headers" not in html and "hx-on" not in html, template.name
        assert "javascript:" not in html, template.name


def test_the_vendored_htmx_is_the_release_noted_in_vendored_md():
    digest = hashlib.sha256((STATIC / "htmx.min.js").read_bytes()).hexdigest()
    assert digest == "d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717"
    assert digest in (STATIC / "VENDORED.md").read_text(encoding="utf-8")


async def test_pages_are_served_with_no_external_resource(owner):
    html = (await owner.get("/admin")).text
    for url in re.findall(r'(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url


async def test_a_logged_in_page_escapes_what_customers_and_managers_typed(owner, client):
    await client.patch(
        "/api/v1/admin/products/KR-KS-001",
        json={"name": '<img src=x onerror="alert(1)">'},
        headers=ADMIN,
    )
    html = (await owner.get("/admin/catalog/KR-KS-001")).text
    assert "<img src=x" not in html and "&lt;img src=x" in html
