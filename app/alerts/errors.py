"""Errors of the alert forwarder; each carries the HTTP status Alertmanager should see."""

from __future__ import annotations


class AlertError(Exception):
    """Base: a message a person can act on, and the status for the webhook answer."""

    status_code = 500


class NoRecipientError(AlertError):
    """An alert matched no route and KRAMAR_ONCALL_CHAT_ID is unset."""

    # 503: Alertmanager retries and logs the failure, so the misconfiguration gets noticed.
    status_code = 503


class AlertsUnavailableError(AlertError):
    """Telegram is not configured in this process."""

    status_code = 503


class SilenceError(AlertError):
    """Alertmanager refused or could not be reached while creating a silence."""

    status_code = 502
