"""Bearer-token auth for the admin API (the guard itself is `app.auth.bearer_guard`)."""

from __future__ import annotations

from app.auth import bearer_guard

admin_guard = bearer_guard(lambda settings: settings.admin_token, "KRAMAR_ADMIN_TOKEN")
"""Allow the request only with `Authorization: Bearer <KRAMAR_ADMIN_TOKEN>`."""
