"""How errors become HTTP answers: JSON with a message a person can act on, never a traceback."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from asyncpg import DataError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from sqlalchemy.exc import DBAPIError, OperationalError

from app.catalog.errors import CatalogError, CatalogFileError
from app.db.migrate import SchemaBehindError

if TYPE_CHECKING:
    from litestar.types import ExceptionHandlersMap

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "internal error; it has been logged"
"""What a 500 says: the detail is in the log, never in the answer."""


def _json(status: int, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    return Response(
        {"status_code": status, "detail": detail, **extra},
        status_code=status,
        media_type=MediaType.JSON,
    )


def catalog_error(_: Request[Any, Any, Any], exc: CatalogError) -> Response[dict[str, Any]]:
    if isinstance(exc, CatalogFileError):
        return _json(
            exc.status_code,
            f"{len(exc.problems)} problem(s) in the catalog file",
            problems=exc.problems,
        )
    return _json(exc.status_code, str(exc))


def validation_error(
    _: Request[Any, Any, Any], exc: ValidationException
) -> Response[dict[str, Any]]:
    # 422, not Litestar's default 400: the request was well-formed but its values were not.
    fields = [
        {"field": item.get("key"), "source": item.get("source"), "message": item.get("message")}
        for item in (exc.extra if isinstance(exc.extra, list) else [])
        if isinstance(item, dict)
    ]
    named = ", ".join(str(f["field"]) for f in fields if f["field"]) or "request"
    return _json(422, f"invalid value(s) in: {named}", errors=fields)


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    response = _json(exc.status_code, exc.detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


def service_unavailable(
    request: Request[Any, Any, Any], exc: Exception
) -> Response[dict[str, Any]]:
    # asyncpg raises plain OSError subclasses when it cannot connect.
    logger.error("backing service unavailable in %s %s: %r", request.method, request.url.path, exc)
    return _json(503, "the database is unavailable; try again shortly")


def database_error(request: Request[Any, Any, Any], exc: DBAPIError) -> Response[dict[str, Any]]:
    """A value Postgres refused (SQLSTATE class 22: out of range, untranslatable, bad escape)
    is the request's fault: 422. The API checks fields first (app/inputs.py), so this is the
    net under a check that was missed; anything else is ours: 500."""
    # SQLAlchemy wraps the driver's error; asyncpg's own is the adapter error's cause.
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(error, DataError) or (isinstance(sqlstate, str) and sqlstate[:2] == "22"):
            logger.warning(
                "value refused by the database in %s %s: %s",
                request.method,
                request.url.path,
                error,
            )
            return _json(422, "a value in the request is out of range or cannot be stored")
    return internal_error(request, exc)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    logger.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return _json(500, INTERNAL_ERROR)


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    CatalogError: catalog_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    OperationalError: service_unavailable,
    SchemaBehindError: service_unavailable,
    DBAPIError: database_error,
    OSError: service_unavailable,
    Exception: internal_error,
}
