"""Who may reach a panel route: a live session for all but the public ones, owners for some."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from app.admin.context import panel_of
from app.admin.security import SESSION_COOKIE

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

PUBLIC = "admin_public"
"""Route `opt` key of the routes open without a session: sign-in and static files."""


async def require_session(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Admit a request with a live session of an active account whose sessions were not ended
    (password, role or status changed since); put the person in `request.state.admin`."""
    if handler.opt.get(PUBLIC):
        return
    panel = panel_of(connection.app.state)
    token = connection.cookies.get(SESSION_COOKIE, "")
    session = await panel.sessions.load(token) if token else None
    user = await panel.users.get(session.user_id) if session is not None else None
    if session is None or user is None or user.epoch != session.epoch:
        raise NotAuthorizedException(detail="sign in to the panel")
    connection.state.admin = user


async def owners_only(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Only owners manage accounts and the shop's own texts (the shop section)."""
    if not connection.state.admin.is_owner:
        raise PermissionDeniedException(detail="owners only")
