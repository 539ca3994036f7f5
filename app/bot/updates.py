"""What the inbox accepts as a Telegram update: parsed, checked and cleaned before it is stored.

A webhook answer other than 2xx makes Telegram send the update again (and hold back the ones
after it), so a 5xx must mean only "try again later". An update that can never be stored or
processed (not JSON, nested absurdly deep, an id beyond 64 bits, a chat without a usable id, a
shape aiogram cannot read) is answered 200 and recorded as rejected, with the reason, for a
person to read. Text is cleaned rather than refused: NUL characters (which Postgres cannot
store) are removed and unpaired surrogates (which UTF-8 cannot encode) become U+FFFD.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from app.inputs import BIGINT_MAX

if TYPE_CHECKING:
    from aiogram.types import Update

BIGINT_MIN = -(2**63)
MAX_DEPTH = 32
"""Nesting levels allowed in an update; Telegram's own go about ten deep (a reply's entities)."""
MAX_REJECTED_BODY = 64 * 1024
"""Characters of a rejected body kept for a person to read."""

_UNSTORABLE = re.compile(r"\x00|[\ud800-\udfff]")
# What in a body can decode to a NUL or a surrogate: the escapes \u0000 and \uD800-\uDFFF, a
# raw NUL byte (a body in UTF-16 or UTF-32) and UTF-8-encoded surrogates (json.loads decodes
# bytes with "surrogatepass"). A body with none of them, and too few brackets to nest past
# MAX_DEPTH, needs no walk through its strings (the common case; the walk was ~3 % of the
# webhook's CPU at 1,000 updates/s).
_MAY_NEED_CLEANING = re.compile(rb"\\u0000|\\u[dD][89a-fA-F]|\x00|\xed[\xa0-\xbf]")
_UPDATE_ID = re.compile(rb'^\s*\{\s*"update_id"\s*:\s*(-?\d{1,40})')


class RejectedUpdateError(Exception):
    """An update that can never be processed; `reason` says why (for the rejected table)."""

    def __init__(self, reason: str, update_id: str | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.update_id = update_id


def clean_text(value: str) -> str:
    """`value` without NUL characters and with unpaired surrogates replaced by U+FFFD."""
    return _UNSTORABLE.sub(lambda m: "" if m.group() == "\x00" else "\ufffd", value)


def _cleaned(value: Any, depth: int = 0) -> Any:
    """A copy of decoded JSON with every string (keys too) cleaned; raises RecursionError
    beyond `MAX_DEPTH` levels."""
    if depth > MAX_DEPTH:
        raise RecursionError(f"nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _cleaned(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_cleaned(v, depth + 1) for v in value]
    return value


def _chat_ids(update: Update) -> list[int]:
    """Every chat or user id the inbox keys on or answers to."""
    ids: list[int] = []
    message = update.message or update.edited_message or update.business_message
    if message is not None:
        ids.append(message.chat.id)
    if update.callback_query is not None:
        ids.append(update.callback_query.from_user.id)
        callback_message = update.callback_query.message
        if callback_message is not None:
            ids.append(callback_message.chat.id)
    return ids


def accept(update: Any, *, clean: bool = True) -> dict[str, Any]:
    """The update as the inbox stores it (cleaned), or `RejectedUpdateError` saying why not;
    `clean=False`: its strings are known to hold nothing to clean and it is not too deep."""
    if not isinstance(update, dict):
        raise RejectedUpdateError(f"not an update: a JSON {type(update).__name__}", None)
    update_id = update.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise RejectedUpdateError("not an update: no integer update_id", None)
    if not 0 <= update_id <= BIGINT_MAX:
        raise RejectedUpdateError("update_id is outside 0..2^63-1", str(update_id)[:64])
    try:
        cleaned: dict[str, Any] = _cleaned(update) if clean else update
    except RecursionError:
        raise RejectedUpdateError(
            f"nested deeper than {MAX_DEPTH} levels", str(update_id)
        ) from None
    try:
        from aiogram.types import Update  # imported by the first update: start-up stays light

        parsed = Update.model_validate(cleaned)
    except ValidationError as error:
        first = error.errors(include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "update"
        raise RejectedUpdateError(
            f"not an update aiogram can read: {where}: {first['msg']}"[:500], str(update_id)
        ) from None
    if any(not BIGINT_MIN <= chat <= BIGINT_MAX for chat in _chat_ids(parsed)):
        raise RejectedUpdateError("a chat or user id is outside 64 bits", str(update_id))
    return cleaned


def parse_body(body: bytes) -> dict[str, Any]:
    """The update in a webhook body (see `accept`); `RejectedUpdateError` if there is none."""
    try:
        decoded = json.loads(body)
    except RecursionError:
        raise RejectedUpdateError(
            f"nested deeper than {MAX_DEPTH} levels", _update_id_of(body)
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise RejectedUpdateError(f"body is not JSON: {error}"[:500], _update_id_of(body)) from None
    shallow = body.count(b"{") + body.count(b"[") <= MAX_DEPTH
    return accept(decoded, clean=not shallow or _MAY_NEED_CLEANING.search(body) is not None)


def _update_id_of(body: bytes) -> str | None:
    """The update_id of a body that did not parse, when Telegram's usual first field shows it."""
    match = _UPDATE_ID.match(body[:200])
    return match.group(1).decode() if match else None


def shown_body(body: bytes) -> str:
    """What is kept of a rejected body: decoded, cleaned, cut at `MAX_REJECTED_BODY`."""
    return clean_text(body[: MAX_REJECTED_BODY * 4].decode("utf-8", "replace"))[:MAX_REJECTED_BODY]
