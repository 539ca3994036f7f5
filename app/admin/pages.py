"""Rendering panel pages, and what the panel answers when a request cannot be served."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER
from sqlalchemy.exc import OperationalError

from app.admin.errors import AdminError
from app.admin.messages import DONE, explain
from app.admin.navigation import visible
from app.admin.security import ADMIN_PATH
from app.catalog.errors import CatalogError, CatalogFileError
from app.errors import EXCEPTION_HANDLERS as APP_EXCEPTION_HANDLERS
from app.orders.errors import OrderError

if TYPE_CHECKING:
    from litestar.types import ExceptionHandlersMap

    from app.admin.users import Principal

logger = logging.getLogger(__name__)

LOGIN_PATH = ADMIN_PATH + "/login"


def current_user(request: Request[Any, Any, Any]) -> Principal | None:
    user: Principal | None = request.state.get("admin")
    return user


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    section: str = "",
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A panel page: the menu for the signed-in person, and a confirmation after a redirect."""
    user = current_user(request)
    done = DONE.get(str(request.query_params.get("done", "")))
    return Template(
        template_name=template,
        context={
            "user": user,
            "nav": visible(user) if user is not None else [],
            "section": section,
            "done": done,
            **context,
        },
        status_code=status_code,
    )


def see_other(path: str, done: str | None = None) -> Redirect:
    """303 to `path` (a panel path), with a confirmation key."""
    separator = "&" if "?" in path else "?"
    return Redirect(
        path + (f"{separator}done={done}" if done else ""), status_code=HTTP_303_SEE_OTHER
    )


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a panel path only (never another site)."""
    if not target or not target.startswith(ADMIN_PATH) or target.startswith(LOGIN_PATH):
        return ADMIN_PATH
    if "//" in target or "\\" in target or any(ord(c) < 32 for c in target):
        return ADMIN_PATH
    return target


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def _error_page(
    request: Request[Any, Any, Any], status: int, message: str, **context: Any
) -> Response[Any]:
    if is_htmx(request):
        # Into the page's notice area, not into the element the request would have replaced.
        return Template(
            template_name="_notice.html",
            context={"message": message, **context},
            status_code=status,
            headers={"HX-Retarget": "#notice", "HX-Reswap": "innerHTML"},
        )
    return page(request, "error.html", status_code=status, message=message, **context)


def panel_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Every error of a panel route as a Ukrainian page (or an htmx notice), never JSON."""
    if isinstance(exc, NotAuthorizedException):
        login = f"{LOGIN_PATH}?next={quote(str(request.url.path) + _query(request))}"
        if is_htmx(request):
            return Response("", status_code=401, headers={"HX-Redirect": login})
        if request.method in {"GET", "HEAD"}:
            return Redirect(login, status_code=HTTP_303_SEE_OTHER)
        # A form sent after the session ended: sign in, then back to the page it came from.
        came_from = safe_next(_referred_path(request))
        return _error_page(
            request,
            401,
            "Сесія завершилася: увійдіть знову.",
            back=f"{LOGIN_PATH}?next={quote(came_from)}",
            back_label="Увійти знову",
        )
    if isinstance(exc, PermissionDeniedException):
        if "CSRF" in str(exc.detail):
            message = "Сторінка застаріла або форму надіслано не з панелі: оновіть сторінку."
        else:
            message = "Цей розділ доступний лише власникам магазину."
        return _error_page(request, 403, message)
    if isinstance(exc, NotFoundException):
        return _error_page(request, 404, "Такої сторінки немає.")
    if isinstance(exc, ValidationException):
        return _error_page(request, 422, "Неправильні дані запиту.")
    if isinstance(exc, HTTPException):
        return _error_page(request, exc.status_code, "Запит не виконано.")
    if isinstance(exc, CatalogFileError):
        return _error_page(request, exc.status_code, explain(exc), problems=exc.problems)
    if isinstance(exc, CatalogError | OrderError | AdminError):
        return _error_page(request, exc.status_code, explain(exc))
    if isinstance(exc, OperationalError | OSError):
        logger.error("panel: backing service unavailable in %s: %r", request.url.path, exc)
        return _error_page(request, 503, "База даних недоступна: спробуйте за хвилину.")
    logger.exception("panel: unhandled error in %s %s", request.method, request.url.path)
    return _error_page(request, 500, explain(exc))


def _referred_path(request: Request[Any, Any, Any]) -> str | None:
    """The path (and query) of the page a request came from, when it is this site's."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc:
        return None
    return referer.path + (f"?{referer.query}" if referer.query else "")


def _query(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return f"?{query}" if query else ""


# Litestar picks the handler of the nearest class in the exception's MRO across all layers, so
# every class the app maps to JSON (app/errors.py) is mapped here again, for panel routes.
EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    kind: panel_error
    for kind in (
        *APP_EXCEPTION_HANDLERS,
        OrderError,
        AdminError,
        NotAuthorizedException,
        PermissionDeniedException,
        NotFoundException,
    )
    if isinstance(kind, type)
}
