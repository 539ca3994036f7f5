"""The one bearer-token guard of every token-protected route (admin API, Alertmanager webhook).

Each route group names the setting that holds its token; the guard compares in constant time and
answers 401 with the header to send. A token that is unset closes its routes; an empty one never
gets this far, because `Settings` refuses it at start.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException

if TYPE_CHECKING:
    from collections.abc import Callable

    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler
    from litestar.types import Guard
    from pydantic import SecretStr

    from app.config import Settings


def token_matches(header: str, token: SecretStr | None) -> bool:
    """True when `header` is `Bearer <token>`; never for an unset or empty token."""
    if token is None or not token.get_secret_value().strip():
        return False
    scheme, _sep, given = header.partition(" ")
    # compare_digest: the time taken must not reveal how much of the token matched.
    return scheme.lower() == "bearer" and secrets.compare_digest(
        given.strip().encode(), token.get_secret_value().encode()
    )


def bearer_guard(token_of: Callable[[Settings], SecretStr | None], variable: str) -> Guard:
    """A Litestar guard admitting only `Authorization: Bearer <the token of variable>`.

    `token_of` picks the token from the app's settings (`app.state.settings`). A coroutine,
    as every guard here: Litestar would run a plain function in its thread pool.
    """

    async def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        token = token_of(connection.app.state.settings)
        if not token_matches(connection.headers.get("authorization", ""), token):
            raise NotAuthorizedException(
                detail=f"send the header 'Authorization: Bearer <{variable}>'",
                headers={"WWW-Authenticate": "Bearer"},
            )

    guard.__name__ = f"bearer_guard_{variable.lower()}"
    guard.__doc__ = f"Allow the request only with `Authorization: Bearer <{variable}>`."
    return guard
