"""Signing in and out: argon2 accounts, server-side sessions with two timeouts, no fixation,
throttling per account and per address."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar.testing import AsyncTestClient
from pydantic import SecretStr
from sqlalchemy import select, text

from app.admin.models import AdminSession, AuditEntry
from app.admin.pages import safe_next
from app.admin.security import SESSION_COOKIE
from app.admin.sessions import Sessions, store_key
from app.admin.throttle import Limits, Throttle
from app.admin.users import AdminUsers, Principal
from app.config import RedisSettings
from app.server import create_app
from tests.admin.conftest import BASE, MANAGER, OWNER, Browser, csrf_of, panel_settings, shown
from tests.fixtures_app import run_in


def cookie_header(response, name: str) -> str:
    headers: list[str] = response.headers.get_list("set-cookie")
    return next(h for h in headers if h.startswith(name + "="))


async def test_signing_in_opens_the_overview_with_a_secure_httponly_session_cookie(
    client, users, session_factory
):
    browser = Browser(client)
    page = await client.get("/admin/login")
    response = await client.post(
        "/admin/login",
        data={"_csrf_token": csrf_of(page.text), "username": "OLHA ", "password": OWNER[1]},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = cookie_header(response, SESSION_COOKIE).lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=lax" in cookie
    assert "path=/admin" in cookie and "max-age" not in cookie
    assert (await browser.get("/admin")).status_code == 200
    async with session_factory() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions == ["auth.signin"]


async def test_a_wrong_password_is_refused_and_recorded(client, users, session_factory):
    response = await Browser(client).sign_in(OWNER[0], "not-the-password")
    assert response.status_code == 401
    assert "Неправильне ім'я користувача або пароль" in shown(response)
    assert SESSION_COOKIE not in client.cookies
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303
    async with session_factory() as session:
        entry = await session.scalar(select(AuditEntry))
    assert entry is not None and entry.action == "auth.failed" and entry.actor == "olha"


async def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client, users):
    unknown = await Browser(client).sign_in("nobody", "whatever-password")
    wrong = await Browser(client).sign_in(OWNER[0], "whatever-password")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.text.replace("nobody", "X") == wrong.text.replace("olha", "X")


async def test_signing_in_always_makes_a_new_session_and_ends_the_one_sent(client, users):
    browser = Browser(client)
    await browser.sign_in(*OWNER)
    first = client.cookies.get(SESSION_COOKIE)
    await browser.sign_in(*MANAGER)  # the same browser, a planted or older session cookie
    second = client.cookies.get(SESSION_COOKIE)
    assert first and second and first != second
    client.cookies.set(SESSION_COOKIE, first, domain="shop.example", path="/admin")
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303


async def test_signing_out_ends_the_session_on_the_server(owner, client):
    token = client.cookies.get(SESSION_COOKIE)
    response = await owner.post("/admin/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    client.cookies.set(SESSION_COOKIE, token, domain="shop.example", path="/admin")
    again = await client.get("/admin/catalog", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"] == "/admin/login?next=/admin/catalog"


async def test_a_form_sent_after_the_session_ended_offers_the_sign_in_back_to_its_page(
    owner, client
):
    await owner.post("/admin/logout")
    response = await owner.post(
        "/admin/shop",
        {"name": "Інший"},
        headers={"Referer": f"{BASE}/admin/catalog/KR-KS-001?q=x"},
        follow_redirects=False,
    )
    assert response.status_code == 401 and "Сесія завершилася" in shown(response)
    assert 'href="/admin/login?next=/admin/catalog/KR-KS-001%3Fq%3Dx" id="back"' in response.text
    elsewhere = await owner.post(
        "/admin/shop", headers={"Referer": "https://evil.example/admin/x"}, follow_redirects=False
    )
    assert 'href="/admin/login?next=/admin" id="back"' in elsewhere.text


async def test_an_idle_session_ends(database_url, db, telegram, demo_catalog, users):
    app = create_app(panel_settings(database_url, telegram, session_idle_seconds=1))
    async with AsyncTestClient(app, base_url=BASE) as client:
        browser = Browser(client)
        await browser.sign_in(*OWNER)
        assert (await client.get("/admin", follow_redirects=False)).status_code == 200
        await asyncio.sleep(1.3)
        response = await client.get("/admin/orders", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/admin/login")


async def test_a_session_ends_at_its_absolute_timeout_however_active(session_factory, users):
    from app.admin.store import PostgresStore

    now = [1000.0]
    sessions = Sessions(
        PostgresStore(session_factory), idle_seconds=600, absolute_seconds=60, clock=lambda: now[0]
    )
    token = await sessions.create(Principal(1, "olha", "owner", 0), "10.0.0.1")
    for _ in range(5):
        now[0] += 11
        assert await sessions.load(token) is not None  # each request renews the idle clock
    now[0] += 6
    assert await sessions.load(token) is None
    assert await sessions.load(token) is None  # and it is gone from the store


async def test_the_session_store_never_holds_the_cookies_token(owner, client, session_factory):
    token = client.cookies.get(SESSION_COOKIE)
    async with session_factory() as session:
        keys = list(await session.scalars(select(AdminSession.key)))
    assert keys == [store_key(token)] and token not in keys[0]


async def test_with_redis_sessions_live_in_redis(
    database_url, db, telegram, demo_catalog, users, redis_url, session_factory
):
    from redis.asyncio import Redis

    settings = panel_settings(database_url, telegram)
    settings = settings.model_copy(update={"redis": RedisSettings(url=SecretStr(redis_url))})
    async with AsyncTestClient(create_app(settings), base_url=BASE) as client:
        await Browser(client).sign_in(*OWNER)
        token = client.cookies.get(SESSION_COOKIE) or ""
        assert (await client.get("/admin", follow_redirects=False)).status_code == 200
        redis = Redis.from_url(redis_url)
        keys = [k.decode() async for k in redis.scan_iter("kramar-admin*")]
        ttl = await redis.ttl(keys[0])
        await redis.aclose()
    assert keys == [f"kramar-admin:{store_key(token)}"]
    assert 0 < ttl <= settings.admin.session_idle_seconds
    async with session_factory() as session:
        assert await session.scalar(select(AdminSession.key)) is None


async def test_changing_a_password_ends_the_accounts_sessions(manager, users, client):
    await users.set_password(MANAGER[0], "a-brand-new-password")
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303


async def test_a_deactivated_account_is_signed_out_and_cannot_sign_in(manager, users, client):
    accounts = {a.username: a.id for a in await users.accounts()}
    await users.set_active(accounts[MANAGER[0]], False)
    assert (await client.get("/admin", follow_redirects=False)).status_code == 303
    assert (await Browser(client).sign_in(*MANAGER)).status_code == 401


async def test_an_account_is_locked_after_five_failures_even_for_the_right_password(
    client, users, session_factory
):
    browser = Browser(client)
    for _ in range(5):
        assert (await browser.sign_in(OWNER[0], "guess-guess-guess")).status_code == 401
    locked = await browser.sign_in(*OWNER)
    assert locked.status_code == 429 and "Забагато невдалих спроб" in shown(locked)
    # The lock is the account's, kept in Postgres: another client (replica, address) sees it.
    async with session_factory() as session:
        await session.execute(text("DELETE FROM admin_signin_throttle WHERE key LIKE 'address:%'"))
        await session.commit()
    assert (await Browser(client).sign_in(*OWNER)).status_code == 429


async def test_one_address_guessing_many_accounts_is_refused(
    database_url, db, telegram, demo_catalog, users
):
    app = create_app(panel_settings(database_url, telegram, address_failures=3))
    async with AsyncTestClient(app, base_url=BASE) as client:
        browser = Browser(client)
        for name in ("anna", "bohdan", "vira"):
            assert (await browser.sign_in(name, "guess-guess-guess")).status_code == 401
        refused = await browser.sign_in(*OWNER)
    assert refused.status_code == 429


async def test_a_lock_ends_with_its_window(session_factory):
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    limits = Limits(account_failures=2, address_failures=100, window=timedelta(minutes=15))
    throttle = Throttle(session_factory, limits, clock=lambda: now[0])
    for _ in range(2):
        await throttle.failed("olha", "10.0.0.1")
    assert 0 < await throttle.wait("olha", "10.0.0.1") <= 15 * 60
    now[0] += timedelta(minutes=15, seconds=1)
    assert await throttle.wait("olha", "10.0.0.1") == 0
    await throttle.failed("olha", "10.0.0.1")  # a new window: one failure so far
    assert await throttle.wait("olha", "10.0.0.1") == 0


async def test_no_window_lets_more_guesses_through_than_the_limit(session_factory):
    """However attempts are spread in time, within any window at most `limit` wrong guesses
    are checked after the window's first; a success (the password) clears the account."""
    loop = asyncio.get_running_loop()
    window = timedelta(seconds=600)

    async def scenario(steps: list[tuple[int, bool]]) -> None:
        async with session_factory() as session:
            await session.execute(text("DELETE FROM admin_signin_throttle"))
            await session.commit()
        now = [datetime(2026, 12, 1, tzinfo=UTC)]
        throttle = Throttle(
            session_factory,
            Limits(account_failures=3, address_failures=1000, window=window),
            clock=lambda: now[0],
        )
        checked: list[datetime] = []
        for advance, right in steps:
            now[0] += timedelta(seconds=advance)
            if await throttle.wait("olha", "10.0.0.1"):
                continue
            if right:
                await throttle.succeeded("olha")
                checked.clear()
                continue
            await throttle.failed("olha", "10.0.0.1")
            checked.append(now[0])
            for start in checked:
                assert len([t for t in checked if start <= t < start + window]) <= 2 * 3
            recent = [t for t in checked if t > now[0] - window]
            assert len(recent) <= 2 * 3  # fixed windows: at most twice the limit across a border

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        steps=st.lists(
            st.tuples(st.integers(min_value=0, max_value=400), st.booleans()),
            min_size=1,
            max_size=25,
        )
    )
    def check(steps):
        run_in(loop, scenario(steps))

    await asyncio.to_thread(check)


async def test_within_one_window_the_limit_is_exact(session_factory):
    now = [datetime(2026, 12, 1, tzinfo=UTC)]
    limits = Limits(account_failures=3, address_failures=1000, window=timedelta(minutes=15))
    throttle = Throttle(session_factory, limits, clock=lambda: now[0])
    allowed = 0
    for _ in range(10):
        now[0] += timedelta(seconds=30)
        if not await throttle.wait("olha", "10.0.0.1"):
            allowed += 1
            await throttle.failed("olha", "10.0.0.1")
    assert allowed == 3


@given(target=st.text(max_size=60))
def test_after_sign_in_only_a_panel_path_is_opened(target):
    chosen = safe_next(target)
    assert chosen.startswith("/admin") and "//" not in chosen and "\\" not in chosen
    assert not chosen.startswith("/admin/login")


def test_the_next_of_a_panel_page_is_kept():
    assert safe_next("/admin/orders?status=new") == "/admin/orders?status=new"
    assert safe_next("https://evil.example/admin") == "/admin"
    assert safe_next("/admin//evil.example") == "/admin"


async def test_passwords_are_stored_as_argon2id_hashes(users, session_factory):
    async with session_factory() as session:
        hashes = list(await session.scalars(text("SELECT password_hash FROM admin_users")))
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert not any(OWNER[1] in h for h in hashes)


async def test_authenticate_folds_the_case_of_the_name(session_factory, users):
    assert await AdminUsers(session_factory).authenticate("  Olha", OWNER[1]) is not None
