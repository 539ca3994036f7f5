"""The panel's browser-facing security settings, in one place: cookies, CSRF, headers.

- Session cookie `kramar_admin`: HttpOnly, SameSite=Lax (a link from the managers' Telegram
  chat into the panel keeps the session; cross-site POSTs never carry it), Path=/admin,
  Secure behind TLS, no Max-Age (it ends with the browser; the server's timeouts end it too).
- CSRF: Litestar's `CSRFMiddleware` (double submit of an HMAC-signed token) on every panel
  route; the cookie is HttpOnly too, so pages carry the token in a <meta> tag (htmx sends it
  as the `X-CSRFToken` header, set in `htmx:configRequest`) or a hidden form field.
- Headers on every /admin response, error pages included: a CSP with no inline script or
  style and `frame-ancestors 'none'`, nosniff, no referrer outside the site, and no caching
  of pages (they show customers' data).
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING

from litestar.config.csrf import CSRFConfig
from litestar.datastructures import MutableScopeHeaders

if TYPE_CHECKING:
    from litestar.types import BeforeMessageSendHookHandler, Message, Scope

    from app.config import Settings

ADMIN_PATH = "/admin"
STATIC_PATH = ADMIN_PATH + "/static"
SESSION_COOKIE = "kramar_admin"
CSRF_COOKIE = "kramar_csrf"
CSRF_HEADER = "x-csrftoken"
CSRF_FIELD = "_csrf_token"  # the form field Litestar's middleware reads

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}


def secure_cookies(settings: Settings) -> bool:
    """Whether the panel's cookies are Secure: as set, else when the public URL is https."""
    if settings.admin.secure_cookies is not None:
        return settings.admin.secure_cookies
    return (settings.public_url or "").lower().startswith("https://")


def csrf_config(settings: Settings) -> CSRFConfig:
    """Litestar's CSRF settings, every one chosen (its defaults: not Secure, not HttpOnly).

    Without KRAMAR_ADMIN_SECRET_KEY the key is a placeholder here; the panel's start-up puts
    the key shared through the database in its place before any request is served.
    """
    key = settings.admin.secret_key
    return CSRFConfig(
        secret=key.get_secret_value() if key is not None else secrets.token_hex(32),
        cookie_name=CSRF_COOKIE,
        cookie_path=ADMIN_PATH,
        header_name=CSRF_HEADER,
        cookie_secure=secure_cookies(settings),
        cookie_httponly=True,
        cookie_samesite="lax",
        safe_methods={"GET", "HEAD", "OPTIONS"},
    )


def security_headers(secure: bool) -> BeforeMessageSendHookHandler:
    """An app-level `before_send` hook: it sees every response start, so the panel's headers
    reach error answers made by middleware (a refused CSRF check) as well as pages."""
    headers = dict(HEADERS)
    if secure:
        headers["strict-transport-security"] = "max-age=31536000"

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        path = scope.get("path", "")
        if path != ADMIN_PATH and not path.startswith(ADMIN_PATH + "/"):
            return
        response = MutableScopeHeaders.from_message(message)
        for name, value in headers.items():
            response[name] = value
        if not path.startswith(STATIC_PATH + "/"):
            response["cache-control"] = "no-store"

    return add_headers
