"""Bearer-token auth for the admin API."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler


def admin_guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Allow the request only with `Authorization: Bearer <KRAMAR_ADMIN_TOKEN>`."""
    token = connection.app.state.settings.admin_token
    header = connection.headers.get("authorization", "")
    scheme, _sep, given = header.partition(" ")
    # compare_digest: the time taken must not reveal how much of the token matched.
    if (
        token is None
        or scheme.lower() != "bearer"
        or not secrets.compare_digest(given.strip().encode(), token.get_secret_value().encode())
    ):
        raise NotAuthorizedException(
            detail="admin API: send the header 'Authorization: Bearer <KRAMAR_ADMIN_TOKEN>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
