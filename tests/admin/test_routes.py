"""Every /admin route of the app refuses an anonymous request: pages redirect to the sign-in,
actions answer 401 (or 403 without a CSRF token). Only the sign-in and static files are open."""

from __future__ import annotations

import re

from litestar.routes import HTTPRoute

from app.admin.guards import PUBLIC
from app.admin.security import CSRF_FIELD
from tests.admin.conftest import csrf_of

SAMPLES = {
    "sku": "KR-KS-001",
    "order_id": "1",
    "chat_id": "501",
    "user_id": "1",
    "position": "0",
    "update_id": "1",
    "upload_id": "abc",
    "file_path": "admin.css",
}


def admin_routes(app):
    """(method, concrete path, handler) of every panel route the app serves."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path.startswith("/admin"):
            continue
        path = re.sub(r"\{(\w+):\w+\}", lambda m: SAMPLES[m.group(1)], route.path)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method not in {"HEAD", "OPTIONS"}:
                    found.append((method, path, handler))
    return found


async def test_every_admin_route_refuses_an_anonymous_request(panel_app, client):
    routes = admin_routes(panel_app)
    assert len(routes) >= 30  # the enumeration found the panel, not nothing
    login = await client.get("/admin/login")
    token = csrf_of(login.text)
    public = sorted((m, p) for m, p, handler in routes if handler.opt.get(PUBLIC))
    assert public == [
        ("GET", "/admin/login"),
        ("GET", "/admin/static/admin.css"),
        ("POST", "/admin/login"),
    ]
    for method, path, handler in routes:
        if handler.opt.get(PUBLIC):
            continue
        if method == "GET":
            response = await client.get(path, follow_redirects=False)
            assert response.status_code == 303, (path, response.status_code)
            assert response.headers["location"].startswith("/admin/login?next="), path
            continue
        forged = await client.request(method, path, follow_redirects=False)
        assert forged.status_code == 403, (method, path, forged.status_code)
        anonymous = await client.request(
            method, path, data={CSRF_FIELD: token}, follow_redirects=False
        )
        assert anonymous.status_code == 401, (method, path, anonymous.status_code)


async def test_an_htmx_request_without_a_session_is_sent_to_the_sign_in(client):
    login = await client.get("/admin/login")
    response = await client.post(
        "/admin/catalog/KR-KS-001/stock",
        data={"size": "S", "colour": "рожевий", "on_hand": "1"},
        headers={"HX-Request": "true", "X-CSRFToken": csrf_of(login.text)},
    )
    assert response.status_code == 401
    assert response.headers["hx-redirect"].startswith("/admin/login?next=")


async def test_the_panel_is_not_in_the_api_schema(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/admin")]
