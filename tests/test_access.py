"""Who may reach what, through the whole app with every part switched on.

Every HTTP route the app serves is put in one class: public (listed one by one), the admin API
(bearer KRAMAR_ADMIN_TOKEN), the panel (a session; owners for some pages), the Alertmanager
webhook (bearer KRAMAR_ALERTS_TOKEN) or the Telegram webhook (the secret header). A route in no
class fails the test, so a new one cannot be forgotten. Each guarded route and method is then
tried without credentials, with wrong ones, with another class's, with a forged and an expired
panel session and a manager's session where an owner is needed, and with the right ones: the
last must get past the guard, so the test can fail both ways.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging
import re
import secrets
import time
from typing import TYPE_CHECKING, Any

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from sqlalchemy import text

from app.admin.guards import PUBLIC as PANEL_PUBLIC
from app.admin.guards import owners_only
from app.admin.security import SESSION_COOKIE
from app.admin.sessions import store_key
from app.admin.users import AdminUsers
from app.config import (
    AdminSettings,
    AlertSettings,
    LinkSettings,
    LLMSettings,
    RagSettings,
    TelegramSettings,
)
from app.observability import tracing
from app.observability.logs import configure_logging
from app.server import create_app
from tests.admin.conftest import BASE, MANAGER, OWNER, Browser, RememberingHasher
from tests.bot.conftest import HEADERS as WEBHOOK_HEADERS
from tests.bot.conftest import MANAGERS, bot_settings
from tests.bot.test_conversation import Customer, buttons, said
from tests.fixtures_app import ADMIN_TOKEN, app_settings
from tests.fixtures_demo import demo_photo
from tests.servers.openai import Answer, Fail, OpenAIServer
from tests.servers.telegram import TelegramServer

if TYPE_CHECKING:
    from litestar import Litestar

ALERTS_TOKEN = "alerts-token-for-access-0x7f"

# Every route open to anyone, by path template: what a customer's browser, a probe, Prometheus
# or a person reading the API's docs needs. Anything else must be guarded.
PUBLIC = {
    ("GET", "/api/v1/products"),
    ("GET", "/api/v1/products/{sku:str}"),
    ("GET", "/api/v1/products/{sku:str}/photos/{position:int}"),
    ("GET", "/api/v1/products/{sku:str}/stock"),
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),
    ("GET", "/schema"),
    ("GET", "/schema/openapi.json"),
    ("GET", "/schema/openapi.yaml"),
    ("GET", "/schema/openapi.yml"),
    ("GET", "/schema/elements"),
    ("GET", "/schema/swagger"),
    ("GET", "/schema/redoc"),
    ("GET", "/schema/rapidoc"),
    ("GET", "/schema/oauth2-redirect.html"),
    ("GET", "/schema/{path:str}"),
    ("GET", "/admin/login"),
    ("POST", "/admin/login"),
    ("GET", "/admin/static/{file_path:path}"),
    ("HEAD", "/admin/static/{file_path:path}"),
}
# Panel sections only owners may use: accounts and the shop's own texts.
OWNERS_ONLY = ("/admin/users", "/admin/shop")
SAMPLES = {
    "sku": "KR-KS-001",
    "order_id": "1",
    "chat_id": "501",
    "user_id": "2",  # the manager: an owner's admitted requests must not lock the owner out
    "position": "0",
    "update_id": "1",
    "upload_id": "abc",
    "file_path": "admin.css",
    "path": "swagger",
}


def classify(method: str, path: str) -> str | None:
    """The route's class, or None: a route nobody decided about."""
    if (method, path) in PUBLIC:
        return "public"
    if path.startswith("/api/v1/admin/"):
        return "admin_api"
    if path == "/admin" or path.startswith("/admin/"):
        return "owner" if path.startswith(OWNERS_ONLY) else "panel"
    if path == "/alerts/alertmanager":
        return "alerts"
    if path == "/telegram/webhook":
        return "webhook"
    return None


def routes(app: Litestar) -> list[tuple[str, str, str, Any]]:
    """(method, path template, concrete path, handler) of every HTTP route but OPTIONS (the
    answers Litestar adds to every path: checked apart to say nothing but the methods)."""
    found: list[tuple[str, str, str, Any]] = []
    for route in app.routes:
        assert isinstance(route, HTTPRoute), f"{route.path}: not HTTP, not classified here"
        path = re.sub(r"\{(\w+):\w+\}", lambda m: SAMPLES[m.group(1)], route.path)
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method != "OPTIONS":
                    found.append((method, route.path, path, handler))
    return found


@pytest.fixture(name="app")
def fx_app(database_url, db, telegram, demo_catalog):
    settings = bot_settings(
        database_url, telegram, alerts=AlertSettings(token=SecretStr(ALERTS_TOKEN))
    )
    return create_app(settings)


@pytest.fixture(name="client")
async def fx_client(app):
    async with AsyncTestClient(app, base_url=BASE) as client:
        yield client


@pytest.fixture(name="users")
async def fx_users(session_factory):
    users = AdminUsers(session_factory, hasher=RememberingHasher())
    await users.create(*OWNER, "owner")
    await users.create(*MANAGER, "manager")
    return users


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused(response: Any) -> bool:
    """Turned away by a guard: 401/403, or a panel page's redirect to the sign-in."""
    if response.status_code in (401, 403):
        return True
    location: str = response.headers.get("location", "")
    return bool(response.status_code == 303 and location.startswith("/admin/login"))


def body_for(method: str) -> dict[str, Any]:
    return {"json": {}} if method in ("POST", "PUT", "PATCH") else {}


async def signed_in(client: Any, who: tuple[str, str]) -> Browser:
    browser = Browser(client, own_cookies=True)
    response = await browser.sign_in(*who)
    assert response.status_code == 200, response.text
    return browser


async def panel_request(browser: Browser, method: str, path: str) -> Any:
    """As the panel's pages send it: a form post with the CSRF token, a GET as a link."""
    if method == "GET":
        return await browser.get(path, follow_redirects=False)
    return await browser.post(path, data={}, follow_redirects=False)


async def expired_session(db: Any, client: Any) -> Browser:
    """A real session, signed in longer ago than KRAMAR_ADMIN_SESSION_ABSOLUTE_SECONDS (its
    store row still there: only the absolute timeout ends it)."""
    browser = await signed_in(client, OWNER)
    assert browser._jar is not None
    token = browser._jar.get(SESSION_COOKIE, path="/admin")
    assert token
    key = store_key(token)
    async with db.begin() as conn:
        raw = await conn.scalar(text("SELECT value FROM admin_sessions WHERE key = :k"), {"k": key})
        data = json.loads(raw)
        data["t"] = time.time() - AdminSettings().session_absolute_seconds - 60
        await conn.execute(
            text("UPDATE admin_sessions SET value = :v WHERE key = :k"),
            {"k": key, "v": json.dumps(data).encode()},
        )
    return browser


def test_no_guard_of_any_route_runs_on_a_thread(app):
    """Litestar runs a plain function guard in its thread pool: the app-wide one did that on
    every request of every route, a thread hop and a GIL handover per request (a catalog page
    under 200 connections waited up to seconds for it). Every guard is a coroutine."""
    plain = sorted(
        {
            f"{getattr(guard, '__name__', guard)} on {template}"
            for _, template, _, handler in routes(app)
            for layer in handler.ownership_layers
            for guard in layer.guards or []
            if not inspect.iscoroutinefunction(guard)
        }
    )
    assert not plain, f"guards that are not coroutines: {plain}"


async def test_every_route_is_classified_and_each_guard_refuses_and_admits(app, client, users, db):
    found = routes(app)
    unclassified = sorted({(m, t) for m, t, _, _ in found if classify(m, t) is None})
    assert not unclassified, (
        f"routes in no access class (add them to tests/test_access.py): {unclassified}"
    )
    by_class: dict[str, list[tuple[str, str]]] = {}
    for method, template, path, _ in found:
        by_class.setdefault(classify(method, template) or "", []).append((method, path))
    assert set(by_class) == {"public", "admin_api", "panel", "owner", "alerts", "webhook"}
    guarded_for_owners = {
        (m, t)
        for m, t, _, h in found
        if any(owners_only in (x.guards or []) for x in h.ownership_layers)
    }
    assert guarded_for_owners == {(m, t) for m, t, _, _ in found if t.startswith(OWNERS_ONLY)}
    assert sorted(t for m, t, _, h in found if h.opt.get(PANEL_PUBLIC)) == sorted(
        t for m, t in PUBLIC if t.startswith("/admin")
    )

    anonymous = Browser(client, own_cookies=True)
    await anonymous.get("/admin/login")  # a CSRF token, so a refusal is the session's
    forged = Browser(client, own_cookies=True)
    await forged.get("/admin/login")
    assert forged._jar is not None
    forged._jar.set(SESSION_COOKIE, secrets.token_urlsafe(32), domain="shop.example", path="/admin")
    expired = await expired_session(db, client)
    manager = await signed_in(client, MANAGER)
    owner = await signed_in(client, OWNER)

    wrong = [{}, bearer("wrong-token"), {"Authorization": f"Basic {ADMIN_TOKEN}"}]
    failures: list[str] = []

    def expect(ok: bool, what: str, method: str, path: str, response: Any) -> None:
        if not ok:
            failures.append(f"{method} {path} {what}: {response.status_code}")

    for method, path in by_class["public"]:
        if (method, path) == ("POST", "/admin/login"):
            # Open to all, and it lets in only the right password (`signed_in` above).
            guess = Browser(client, own_cookies=True)
            response = await guess.sign_in(OWNER[0], "not-the-password")
            expect(response.status_code == 401, "a wrong password", method, path, response)
            continue
        response = await client.request(method, path, follow_redirects=False)
        expect(
            not refused(response) and response.status_code < 500,
            "anonymous",
            method,
            path,
            response,
        )

    for method, path in by_class["admin_api"]:
        for headers in [*wrong, bearer(ALERTS_TOKEN), WEBHOOK_HEADERS]:
            response = await client.request(method, path, headers=headers, **body_for(method))
            expect(response.status_code == 401, f"with {sorted(headers)}", method, path, response)
        with owner._cookies():
            with_session = await client.request(method, path, **body_for(method))
        expect(refused(with_session), "with a panel session", method, path, with_session)
        right = await client.request(method, path, headers=bearer(ADMIN_TOKEN), **body_for(method))
        expect(not refused(right), "with the admin token", method, path, right)

    for method, path in by_class["alerts"] + by_class["webhook"]:
        own = bearer(ALERTS_TOKEN) if path.startswith("/alerts") else WEBHOOK_HEADERS
        others = [*wrong, bearer(ADMIN_TOKEN), {"X-Telegram-Bot-Api-Secret-Token": "guess"}]
        others += [WEBHOOK_HEADERS] if path.startswith("/alerts") else [bearer(ALERTS_TOKEN)]
        for headers in others:
            response = await client.request(method, path, headers=headers, json={})
            expect(refused(response), f"with {sorted(headers)}", method, path, response)
        update = {
            "update_id": 77,
            "message": {
                "message_id": 1,
                "date": 1,
                "chat": {"id": 7, "type": "private"},
                "text": "/help",
            },
        }
        right = await client.request(method, path, headers=own, json=update)
        expect(
            not refused(right) and right.status_code < 500,
            "with its credential",
            method,
            path,
            right,
        )

    guarded = by_class["panel"] + by_class["owner"]
    for path in sorted(
        {p for c in ("admin_api", "panel", "owner", "alerts", "webhook") for _, p in by_class[c]}
    ):
        response = await client.options(path)
        expect(response.content == b"" or refused(response), "OPTIONS", "OPTIONS", path, response)
    # The owner's own requests last, the sign-out last of all: it ends the session.
    for method, path in guarded:
        for who, browser in (("anonymous", anonymous), ("forged", forged), ("expired", expired)):
            response = await panel_request(browser, method, path)
            expect(refused(response), f"{who} session", method, path, response)
        response = await client.request(
            method, path, headers=bearer(ADMIN_TOKEN), follow_redirects=False
        )
        expect(refused(response), "admin token, no session", method, path, response)
        if method != "GET":
            with manager._cookies():
                no_csrf = await client.request(method, path, follow_redirects=False)
            expect(no_csrf.status_code == 403, "a session without CSRF", method, path, no_csrf)
    for method, path in guarded:
        if path == "/admin/logout":
            continue
        response = await panel_request(manager, method, path)
        if (method, path) in by_class["owner"]:
            expect(
                response.status_code == 403, "manager where owner is needed", method, path, response
            )
        else:
            expect(not refused(response), "manager", method, path, response)
    for method, path in guarded:
        if path == "/admin/logout":
            continue
        response = await panel_request(owner, method, path)
        expect(
            not refused(response) and response.status_code < 500, "owner", method, path, response
        )
    # Signing out is admitted when it ends the session: the next page asks to sign in again.
    response = await panel_request(owner, "POST", "/admin/logout")
    expect(response.status_code == 303, "owner", "POST", "/admin/logout", response)
    after = await panel_request(owner, "GET", "/admin")
    expect(refused(after), "after signing out", "GET", "/admin", after)
    assert not failures, "\n".join(failures)


async def settled(db: Any) -> None:
    """Until the bot has worked off every update it was sent."""
    for _ in range(200):
        async with db.connect() as conn:
            pending = await conn.scalar(
                text("SELECT count(*) FROM telegram_inbox WHERE status = 'pending'")
            )
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot did not work off its updates")


async def test_the_manager_chats_powers_work_only_in_the_manager_chat(client, db, telegram):
    """A customer's private chat sends what the managers send (a reply to the hand-off's
    message, /bot as a reply, the hand-off's and an order's buttons): nothing reaches the other
    customer, and the hand-off stays. The same from the managers' chat works."""
    alice, mallory = 701, 702
    await Customer(client, telegram, alice).says("покличте менеджера")
    notice = telegram.sent(MANAGERS)[-1]
    assert buttons(notice) == [f"bot:{alice}"]
    heard = len(telegram.sent(alice))

    def reply_to_notice(chat: int, words: str) -> dict[str, Any]:
        update: dict[str, Any] = telegram.message_update(chat, words)
        chat_type = "private" if chat > 0 else "supergroup"
        update["message"]["reply_to_message"] = {
            "message_id": notice.message_id,  # the same id, as a forger would guess it
            "date": 1,
            "chat": {"id": chat, "type": chat_type},
            "text": notice.visible,
        }
        return update

    mallory_ = Customer(client, telegram, mallory)
    forged = [
        reply_to_notice(mallory, "Ваше замовлення скасовано, оплатіть на картку 4444"),
        reply_to_notice(mallory, "/bot"),
        mallory_.press_update(f"bot:{alice}", message_id=notice.message_id),
        mallory_.press_update("m:cancelled:1", message_id=notice.message_id),
    ]
    for update in forged:
        response = await client.post("/telegram/webhook", json=update, headers=WEBHOOK_HEADERS)
        assert response.status_code == 200
    await settled(db)
    await asyncio.sleep(0.2)
    assert len(telegram.sent(alice)) == heard, [said(m) for m in telegram.sent(alice)[heard:]]
    async with db.connect() as conn:
        status = await conn.scalar(
            text("SELECT status FROM handoffs WHERE chat_id = :c"), {"c": alice}
        )
    assert status == "open"

    # The same reply from the managers' chat reaches her: the forgeries named the right message.
    update = reply_to_notice(MANAGERS, "Вітаю, я Ірина.")
    update["message"]["from"] = {"id": 77, "is_bot": False, "first_name": "Ірина"}
    await client.post("/telegram/webhook", json=update, headers=WEBHOOK_HEADERS)
    await settled(db)
    assert [said(m) for m in telegram.sent(alice)[heard:]] == ["Вітаю, я Ірина."]


# Distinctive secrets, each set where the app reads it; none may show anywhere but where it
# belongs (the bot token in Telegram's URLs, the model key in the model's Authorization).
LEAK_BOT_TOKEN = "7012345678:AAHleakcheckBotTokenSecretHalf0xQ1"
LEAK = {
    "bot token": LEAK_BOT_TOKEN,
    "bot token's secret half": LEAK_BOT_TOKEN.split(":", 1)[1],
    "webhook secret": "whsec-leakcheck-9b1f27c4",
    "admin token": "admintok-leakcheck-5e8a1d3b",
    "alerts token": "alertstok-leakcheck-0c6e94f2",
    "panel key": "panelkey-leakcheck-a7d3c918e2b64f05",
    "model key": "sk-leakcheck-3f8e2d1c0b9a8f7e6d5c",
    "embeddings key": "sk-leakcheck-emb-44d2a9b7c1",
    "database password": "pgpass-leakcheck-71be02",
}


def leak_settings(database_url: Any, telegram: Any, model_url: str, **overrides: Any) -> Any:
    url = database_url.set(password=LEAK["database password"])
    link = LinkSettings(
        name="primary",
        model="gpt-test",
        base_url=model_url,
        api_key=SecretStr(LEAK["model key"]),
        max_retries=0,  # the model's 500 is logged at once, not after the SDK's back-off
    )
    return app_settings(
        url,
        telegram=TelegramSettings(
            bot_token=SecretStr(LEAK_BOT_TOKEN),
            webhook_secret=SecretStr(LEAK["webhook secret"]),
            api_url=telegram.url,
            per_chat_interval_seconds=0.0,
            global_interval_seconds=0.0,
            poll_interval_seconds=0.1,
            burst_max=1,
            holding_seconds=0,
        ),
        public_url="https://shop.example",
        manager_chat_id=MANAGERS,
        admin_token=SecretStr(LEAK["admin token"]),
        alerts=AlertSettings(token=SecretStr(LEAK["alerts token"])),
        admin=AdminSettings(secret_key=SecretStr(LEAK["panel key"])),
        llm=LLMSettings(links=[link], backoff_seconds=0),
        rag=RagSettings(openai_api_key=SecretStr(LEAK["embeddings key"])),
        **overrides,
    )


def leaks_in(where: str, text_: str) -> list[str]:
    return [f"{name} in {where}" for name, value in LEAK.items() if value in text_]


@pytest.fixture(name="logged")
def fx_logged():
    """The app's own log handler (JSON, DEBUG) into a buffer, as `kramar serve` sets it up;
    the root logger as it was afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    buffer = io.StringIO()
    yield buffer, lambda settings: configure_logging(settings, stream=buffer)
    root.handlers[:] = saved[1]
    root.setLevel(saved[0])


async def test_no_secret_reaches_logs_metrics_traces_or_a_model(
    database_url, db, demo_catalog, logged
):
    """A conversation with a photo, a question to the model, an order and a hand-off, with a
    model error and a Telegram error on the way, the admin API and the
    webhook tried with wrong credentials: then every log line, the /metrics
    scrape, every span's attributes and events, and every request the model got are searched
    for each secret."""
    buffer, configure = logged
    spans = InMemorySpanExporter()
    model = OpenAIServer()
    model.start()
    answer = {"reply": "Костюм «Мрія» — гарний вибір.", "skus": ["KR-KS-001"], "intent": "price"}
    model.default("gpt-test", Answer(json.dumps(answer, ensure_ascii=False)))
    failures: list[str] = []
    try:
        with TelegramServer(token=LEAK_BOT_TOKEN) as telegram:
            settings = leak_settings(
                database_url, telegram, model.base_url, log_level="DEBUG", log_format="json"
            )
            configure(settings)
            stop_tracing = tracing.configure_tracing(
                settings.model_copy(update={"otlp_endpoint": "http://127.0.0.1:9"}),
                exporter=spans,
            )
            try:
                async with AsyncTestClient(create_app(settings), base_url=BASE) as client:
                    secret = {"X-Telegram-Bot-Api-Secret-Token": LEAK["webhook secret"]}
                    olena = Customer(client, telegram, 801, headers=secret)
                    # Failures log what went wrong: a model's 500 and Telegram's 502 (whose
                    # URLs carry the bot token; a failed download's log is
                    # tests/bot/test_no_secrets_in_logs.py's).
                    model.script("gpt-test", Fail(500))
                    telegram.fail("sendMessage", 502)
                    await olena.says("Скільки коштує костюм Мрія?")
                    [card] = await olena.sends_photo(demo_photo("KR-KS-001.png"))
                    assert "2 450 грн" in said(card)
                    summary = await olena.orders_the_demo_suit()
                    confirmed = await olena.presses(buttons(summary)[0])
                    assert "прийнято" in said(confirmed[-1])
                    human = {"reply": "Передаю менеджеру.", "intent": "human", "escalate": True}
                    model.default("gpt-test", Answer(json.dumps(human, ensure_ascii=False)))
                    await olena.says("покличте менеджера")
                    assert "Передача розмови" in said(telegram.sent(MANAGERS)[-1])
                    for headers in ({}, {"Authorization": "Bearer " + LEAK["alerts token"]}):
                        await client.get("/api/v1/admin/orders", headers=headers)
                    admin = {"Authorization": "Bearer " + LEAK["admin token"]}
                    assert (await client.get("/api/v1/admin/orders", headers=admin)).is_success
                    wrong = {"X-Telegram-Bot-Api-Secret-Token": LEAK["admin token"]}
                    await client.post("/telegram/webhook", json={"update_id": 1}, headers=wrong)
                    metrics = (await client.get("/metrics")).text
                tracing.flush()
            finally:
                if stop_tracing is not None:
                    stop_tracing()
    finally:
        model.stop()

    assert '"level": "DEBUG"' in buffer.getvalue() or '"level":"DEBUG"' in buffer.getvalue()
    failures += leaks_in("the logs", buffer.getvalue())
    assert "escalations_total" in metrics
    failures += leaks_in("/metrics", metrics)
    finished = spans.get_finished_spans()
    assert any(s.name == "telegram.update" for s in finished)
    for span_ in finished:
        shown = [span_.name, json.dumps(dict(span_.attributes or {}), default=str)]
        for event in span_.events:
            shown += [event.name, json.dumps(dict(event.attributes or {}), default=str)]
        failures += leaks_in(f"span {span_.name}", "\n".join(shown))
    assert model.requests, "the model was asked nothing"
    for request in model.requests:
        body = json.dumps(request.body, ensure_ascii=False)
        headers = dict(request.headers)
        authorization = headers.pop("authorization", headers.pop("Authorization", ""))
        assert authorization == f"Bearer {LEAK['model key']}"
        failures += leaks_in("a model request", body + json.dumps(headers) + request.path)
    assert not failures, sorted(set(failures))
