"""`POST /alerts/alertmanager`: Alertmanager's webhook receiver, forwarding to Telegram.

Alertmanager retries a notification on any non-2xx answer, so the answer is 200 only once
Telegram has accepted every part of every message; a repeat after that is a no-op (dedupe).
"""

from __future__ import annotations

import logging
from typing import Any

from litestar import Controller, MediaType, Request, Response, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.status_codes import HTTP_200_OK
from pydantic import ValidationError

from app.alerts.errors import AlertError, AlertsUnavailableError
from app.alerts.schemas import Notification
from app.alerts.service import AlertForwarder
from app.auth import bearer_guard

logger = logging.getLogger(__name__)

# Alertmanager caps a group at max_alerts (0: no cap); a thousand alerts are some 500 KiB.
MAX_NOTIFICATION_BYTES = 4 * 1024 * 1024


Forwarder = NamedDependency[AlertForwarder]


alerts_guard = bearer_guard(lambda settings: settings.alerts.token, "KRAMAR_ALERTS_TOKEN")
"""Allow the request only with `Authorization: Bearer <KRAMAR_ALERTS_TOKEN>`."""


def provide_forwarder(state: State) -> AlertForwarder:
    """The forwarder the bot's Dispatcher holds (it also answers the silence buttons)."""
    telegram = state.get("telegram")
    if telegram is None:
        raise AlertsUnavailableError("Telegram is off here: KRAMAR_TELEGRAM_BOT_TOKEN is unset")
    forwarder = telegram.dispatcher.workflow_data.get("alerts") or state.get("alerts")
    if not isinstance(forwarder, AlertForwarder):
        # Not handed to the Dispatcher: alerts still go out, the buttons are not answered.
        forwarder = AlertForwarder(state.settings, telegram.outgoing.sender, state.db.engine)
        state["alerts"] = forwarder
    return forwarder


def alert_error(_: Request[Any, Any, Any], exc: AlertError) -> Response[dict[str, Any]]:
    logger.error("alert notification not forwarded: %s", exc)
    return _answer(exc.status_code, str(exc))


def _answer(status: int, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    return Response(
        {"status_code": status, "detail": detail, **extra},
        status_code=status,
        media_type=MediaType.JSON,
    )


class AlertmanagerController(Controller):
    """Alertmanager → the on-call Telegram chat."""

    path = "/alerts"
    tags = ["alerts"]
    guards = [alerts_guard]
    dependencies = {"forwarder": Provide(provide_forwarder, sync_to_thread=False)}
    exception_handlers = {AlertError: alert_error}

    @post(
        "/alertmanager",
        operation_id="ReceiveAlertmanagerNotification",
        summary="Alertmanager webhook (version 4); bearer KRAMAR_ALERTS_TOKEN",
        description=(
            "200 once every message is in Telegram (or was already); 502/503 makes "
            "Alertmanager retry, and a retry sends only what is missing."
        ),
        request_max_body_size=MAX_NOTIFICATION_BYTES,
        status_code=HTTP_200_OK,
    )
    async def receive_notification(
        self, request: Request[Any, Any, Any], forwarder: Forwarder
    ) -> Response[dict[str, Any]]:
        # Parsed here rather than by Litestar, so that garbage gets one 422 naming the problem.
        try:
            notification = Notification.model_validate_json(await request.body())
        except ValidationError as error:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
                for e in error.errors(include_url=False)
            ]
            return _answer(
                422,
                "not an Alertmanager webhook notification (version 4): " + "; ".join(problems[:5]),
                errors=problems,
            )
        report = await forwarder.forward(notification)
        outcomes = {str(chat): outcome for chat, outcome in report.outcomes.items()}
        if report.ok:
            return _answer(HTTP_200_OK, "forwarded", chats=outcomes)
        if report.busy:
            return _answer(503, "another request is sending this message; retry", chats=outcomes)
        return _answer(502, "Telegram did not accept every message; retry", chats=outcomes)
