from __future__ import annotations

import asyncio
import itertools
import threading
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from pydantic import SecretStr

from app.alerts import handlers as alert_handlers
from app.alerts.api import AlertmanagerController
from app.alerts.service import AlertForwarder
from app.config import AlertRoute, AlertSettings
from app.server import create_app
from tests.bot.conftest import bot_settings

ALERTS_TOKEN = "alerts-token-7"
AUTH = {"Authorization": f"Bearer {ALERTS_TOKEN}"}
ONCALL = -100700
SHOP_TEAM = -100800
CRITICAL = -100900
ADMIN_USER = 4242
STRANGER = 5151
_fingerprints = itertools.count(1)
_update_ids = itertools.count(900_000)


def alert_settings(
    database_url,
    telegram_server,
    *,
    alerts=None,
    alertmanager_url="http://127.0.0.1:9",
    **overrides,
):
    alerts = alerts or AlertSettings(
        alertmanager_url=alertmanager_url,
        token=SecretStr(ALERTS_TOKEN),
        routes=[
            AlertRoute(match={"team": "shop"}, chat_ids=[SHOP_TEAM]),
            AlertRoute(match={"severity": "critical"}, chat_ids=[CRITICAL, ONCALL]),
        ],
        silence_users=[ADMIN_USER],
    )
    overrides.setdefault("oncall_chat_id", ONCALL)
    settings = bot_settings(database_url, telegram_server, alerts=alerts)
    return settings.model_copy(update=overrides)


def with_alerts(app):
    """The app with the alert endpoint and buttons, wired here until app.server/runtime do it."""
    if not any(getattr(r, "path", None) == "/alerts/alertmanager" for r in app.routes):
        app.register(AlertmanagerController)

    async def wire_dispatcher(app) -> None:
        telegram = app.state.telegram
        if telegram is not None and "alerts" not in telegram.dispatcher.workflow_data:
            forwarder = AlertForwarder(
                app.state.settings, telegram.outgoing.sender, app.state.db.engine
            )
            telegram.dispatcher.workflow_data["alerts"] = forwarder
            telegram.dispatcher.include_router(alert_handlers.build())

    app.on_startup.append(wire_dispatcher)
    return app


def alerts_app(settings):
    return with_alerts(create_app(settings))


@pytest.fixture(name="alerts_client")
async def fx_alerts_client(database_url, db, telegram):
    async with AsyncTestClient(alerts_app(alert_settings(database_url, telegram))) as client:
        yield client


@contextmanager
def served(app, port):
    """`app` behind uvicorn on 127.0.0.1:`port`, in its own thread and event loop."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the app did not start under uvicorn")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def alert(
    name="KramarInboxBacklog",
    status="firing",
    *,
    severity="warning",
    starts_at=None,
    ends_at=None,
    annotations=None,
    fingerprint=None,
    **labels,
):
    starts_at = starts_at or datetime(2026, 11, 24, 12, 3, tzinfo=UTC)
    if status == "resolved" and ends_at is None:
        ends_at = starts_at + timedelta(minutes=24)
    return {
        "status": status,
        "labels": {"alertname": name, "severity": severity, "namespace": "shop", **labels},
        "annotations": annotations
        if annotations is not None
        else {
            "summary": "Telegram updates wait in the inbox for more than 2 minutes",
            "description": "The oldest unprocessed inbox update is 3m 10s old.",
            "runbook_url": "https://github.com/kramar-shop/kramar/blob/main/docs/runbooks.md#kramarinboxbacklog",
        },
        "startsAt": starts_at.isoformat().replace("+00:00", "Z"),
        "endsAt": ends_at.isoformat().replace("+00:00", "Z") if ends_at else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=inbox",
        "fingerprint": fingerprint or f"{next(_fingerprints):016x}",
    }


def notification(*alerts, group_key=None, status=None):
    listed = list(alerts) or [alert()]
    firing = any(a["status"] == "firing" for a in listed)
    return {
        "version": "4",
        "receiver": "kramar",
        "status": status or ("firing" if firing else "resolved"),
        "alerts": listed,
        "groupLabels": {"alertname": listed[0]["labels"]["alertname"]},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager:9093",
        "groupKey": group_key or '{}:{alertname="KramarInboxBacklog"}',
        "truncatedAlerts": 0,
    }


def callback_update(chat_id, message_id, data, *, user_id, username="oncall_ivan"):
    """A press of an inline button under message `message_id` in `chat_id`."""
    return {
        "update_id": next(_update_ids),
        "callback_query": {
            "id": f"cb-{next(_update_ids)}",
            "from": {"id": user_id, "is_bot": False, "first_name": "Ivan", "username": username},
            "chat_instance": "ci-1",
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "supergroup", "title": "On-call"},
                "text": "alert",
            },
        },
    }


async def wait_for(telegram, condition, seconds=10.0):
    return await asyncio.to_thread(telegram.wait_for, condition, seconds)
