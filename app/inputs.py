"""Limits every edge applies to outside input, so bad values get a 422 naming the field.

Postgres refuses two things Python accepts: integers beyond the column's width and NUL
characters in text. Left to the database they surface as a 500 after a round trip; checked
here they are a clear answer before any query runs. JSON numbers with a fraction or an
exponent are read as exact decimals, so `1e400` or `0.1` reach the field's own check (a 422
naming it) instead of overflowing the parser or losing digits to a float.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
from litestar import Request
from litestar.exceptions import ClientException, ValidationException
from litestar.types import Empty
from pydantic import BaseModel, field_validator

if TYPE_CHECKING:
    from litestar.connection import ASGIConnection
    from litestar.handlers.base import BaseRouteHandler

INT32_MAX = 2**31 - 1
"""Largest value of an INTEGER column (photo positions, quantities)."""
BIGINT_MAX = 2**63 - 1
"""Largest value of a BIGINT column (ids) and of SQL OFFSET."""
NUL_MESSAGE = "must not contain NUL characters"


def has_nul(value: Any) -> bool:
    """True if `value` (a string, or lists and dicts of them, keys too) holds a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_nul(v) for v in value)
    return False


class CleanInput(BaseModel):
    """Base of request bodies and catalog rows: no field may carry a NUL character."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError(NUL_MESSAGE)
        return value


async def refuse_nul_parameters(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """An app-wide guard: a path or query parameter with a NUL character is a 422 naming it.

    A guard rather than a `before_request` hook, because guards of every layer all run. A
    coroutine, because Litestar runs a plain function guard in its thread pool: on every request
    of every route, a thread hop and a fight for the GIL.
    """
    problems = [
        {"key": name, "source": "path", "message": NUL_MESSAGE}
        for name, value in connection.path_params.items()
        if has_nul(value)
    ]
    problems += [
        {"key": name, "source": "query", "message": NUL_MESSAGE}
        for name, value in connection.query_params.multi_items()
        if has_nul(name) or has_nul(value)
    ]
    if problems:
        raise ValidationException(detail="NUL characters in the request", extra=problems)


_JSON = msgspec.json.Decoder(float_hook=Decimal)


class ExactNumbersRequest(Request[Any, Any, Any]):
    """The app's request class: JSON bodies decode non-integer numbers as `Decimal`."""

    async def json(self) -> Any:
        if self._json is Empty:
            if (cached := self._connection_state.json) is not Empty:
                self._json = cached
            else:
                try:
                    decoded = _JSON.decode(await self.body() or b"null")
                except msgspec.DecodeError as error:
                    raise ClientException(f"JSON is malformed: {error}") from None
                self._json = self._connection_state.json = decoded
        return self._json
