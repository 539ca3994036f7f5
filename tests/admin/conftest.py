"""The panel through the real app: Litestar's test client (routing, middleware, lifespan, the
database), signing in as a browser would (the sign-in page's CSRF token, then cookies)."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import httpx
import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from app.admin.security import CSRF_COOKIE, CSRF_FIELD
from app.admin.users import AdminUsers
from app.config import AdminSettings
from app.server import create_app
from tests.bot.conftest import bot_settings

OWNER = ("olha", "owner-password-1")
MANAGER = ("taras", "manager-password-1")
BASE = "https://shop.example"  # the panel's cookies are Secure behind the https public URL
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def shown(response: Any) -> str:
    """The page's text as a person reads it (entities decoded)."""
    return html.unescape(response.text)


def match(pattern: str, text: str, flags: int = 0) -> re.Match[str]:
    """The first match of `pattern` in `text`; the test fails when there is none."""
    found = re.search(pattern, text, flags)
    assert found, f"{pattern!r} not on the page"
    return found


def csrf_of(html: str) -> str:
    found = _META.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


class Browser:
    """A test client used like a browser: forms carry the page's CSRF token. With
    `own_cookies`, a second browser on the same client (the app runs in the client's event
    loop, so a second client cannot reach it): its cookies are swapped in for each request."""

    def __init__(self, client: AsyncTestClient[Any], *, own_cookies: bool = False) -> None:
        self.client = client
        self._jar: httpx.Cookies | None = httpx.Cookies() if own_cookies else None

    @contextmanager
    def _cookies(self) -> Iterator[None]:
        if self._jar is None:
            yield
            return
        theirs = self.client.cookies
        self.client.cookies = self._jar
        try:
            yield
        finally:
            self._jar = self.client.cookies
            self.client.cookies = theirs

    @property
    def csrf(self) -> str:
        with self._cookies():
            return self.client.cookies.get(CSRF_COOKIE, path="/admin") or ""

    async def get(self, path: str, **kwargs: Any) -> Any:
        with self._cookies():
            return await self.client.get(path, **kwargs)

    async def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """A form post with the CSRF token in its hidden field."""
        if not self.csrf:
            await self.get("/admin/login")
        token = self.csrf
        with self._cookies():
            return await self.client.post(path, data={CSRF_FIELD: token, **(data or {})}, **kwargs)

    async def htmx(self, path: str, data: dict[str, Any]) -> Any:
        """An htmx post: the token as the header `admin.js` sets."""
        token = self.csrf
        with self._cookies():
            return await self.client.post(
                path, data=data, headers={"HX-Request": "true", "X-CSRFToken": token}
            )

    async def sign_in(self, username: str, password: str) -> Any:
        page = await self.get("/admin/login")
        token = csrf_of(page.text)
        with self._cookies():
            return await self.client.post(
                "/admin/login",
                data={CSRF_FIELD: token, "username": username, "password": password},
            )


def panel_settings(database_url, telegram, **admin: Any):
    return bot_settings(database_url, telegram, admin=AdminSettings(**admin))


@pytest.fixture(name="panel_app")
def fx_panel_app(database_url, db, telegram, demo_catalog):
    return create_app(panel_settings(database_url, telegram))


@pytest.fixture(name="client")
async def fx_client(panel_app):
    async with AsyncTestClient(panel_app, base_url=BASE) as client:
        yield client


class RememberingHasher(PasswordHasher):
    """argon2id with the app's parameters, hashing each test password once per run: the
    fixtures' accounts cost no CPU after the first test (the app still verifies for real)."""

    _known: ClassVar[dict[str, str]] = {}

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        key = password if isinstance(password, str) else password.decode()
        if key not in self._known:
            self._known[key] = super().hash(password, salt=salt)
        return self._known[key]


@pytest.fixture(name="users")
async def fx_users(session_factory):
    users = AdminUsers(session_factory, hasher=RememberingHasher())
    await users.create(*OWNER, "owner")
    await users.create(*MANAGER, "manager")
    return users


@pytest.fixture(name="owner")
async def fx_owner(client, users):
    browser = Browser(client)
    response = await browser.sign_in(*OWNER)
    assert response.status_code == 200, response.text  # followed the 303 to the overview
    return browser


@pytest.fixture(name="manager")
async def fx_manager(client, users):
    browser = Browser(client)
    response = await browser.sign_in(*MANAGER)
    assert response.status_code == 200, response.text
    return browser


@pytest.fixture(name="manager_client")
async def fx_manager_client(client, users):
    """A second browser on the same running app, signed in as the manager."""
    browser = Browser(client, own_cookies=True)
    response = await browser.sign_in(*MANAGER)
    assert response.status_code == 200, response.text
    return browser


@pytest.fixture(name="chromium", scope="session")
async def fx_chromium():
    """One headless Chromium for the whole run; each test opens its own context (cookies)."""
    from playwright.async_api import async_playwright

    from tests.admin.live import CHROMIUM, CHROMIUM_ARGS

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()
