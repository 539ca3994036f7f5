"""Reading HTML forms: text fields trimmed and bounded, pydantic errors told in Ukrainian."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from litestar.datastructures import UploadFile

if TYPE_CHECKING:
    from litestar import Request
    from pydantic import ValidationError

MAX_FIELD = 10_000
"""Characters kept of one text field (the longest the catalog takes is 4,000)."""


class Form:
    """The submitted form of a request."""

    def __init__(self, fields: dict[str, list[Any]]) -> None:
        self._fields = fields

    @classmethod
    async def read(cls, request: Request[Any, Any, Any]) -> Form:
        data = await request.form()
        fields: dict[str, list[Any]] = {}
        for key, value in data.multi_items():
            fields.setdefault(key, []).append(value)
        return cls(fields)

    def text(self, name: str, default: str = "") -> str:
        """A text field, trimmed, without NUL characters, at most `MAX_FIELD` characters."""
        for value in self._fields.get(name, []):
            if isinstance(value, str):
                return value.replace("\x00", "").strip()[:MAX_FIELD]
        return default

    def flag(self, name: str) -> bool:
        return self.text(name) in {"1", "on", "true", "yes"}

    def words(self, name: str) -> list[str]:
        """A comma-separated field as its non-empty parts ("S, M, L" → ["S", "M", "L"])."""
        return [part.strip() for part in self.text(name).split(",") if part.strip()]

    def values(self) -> dict[str, str]:
        """Every text field (for showing a form again as it was sent)."""
        return {name: self.text(name) for name in self._fields if name != "_csrf_token"}

    async def files(self, name: str) -> list[tuple[str, bytes]]:
        """(file name, bytes) of each non-empty file sent under `name`."""
        found = []
        for value in self._fields.get(name, []):
            if isinstance(value, UploadFile) and value.filename:
                content = await value.read()
                if content:
                    found.append((value.filename, content))
        return found


_MESSAGES = {
    "missing": "обов'язкове поле",
    "string_too_short": "не може бути порожнім",
    "too_short": "не може бути порожнім",
    "string_too_long": "задовге",
    "too_long": "забагато значень",
    "string_pattern_mismatch": "має неправильний вигляд",
    "greater_than_equal": "не може бути від'ємним",
    "less_than_equal": "завелике",
    "int_parsing": "має бути цілим числом",
    "decimal_parsing": "має бути числом",
}
HINTS = {
    "price": "ціна — це цифри з крапкою чи комою, до двох знаків після неї (1299 або 1299,50)",
    "qty": "кількість — ціле число від 0 (наприклад 0 або 12)",
    "sku": "артикул — великі латинські літери, цифри й дефіси, 3–32 знаки (KR-KS-001)",
}
"""What a field of these names must look like, said instead of pydantic's error."""


def message_for(kind: str) -> str:
    """The Ukrainian sentence for a pydantic error type ("string_too_short", ...)."""
    return _MESSAGES.get(kind, "неправильне значення")


def field_errors(error: ValidationError) -> dict[str, str]:
    """{field: Ukrainian message} of a pydantic `ValidationError` of a form's model."""
    found: dict[str, str] = {}
    for problem in error.errors(include_url=False, include_input=False):
        location = [str(part) for part in problem["loc"]]
        field = location[0] if location else "form"
        if field in HINTS:
            message = HINTS[field]
        elif "listed twice" in str(problem.get("msg", "")):
            message = "одне значення вказано двічі"
        else:
            message = message_for(str(problem["type"]))
        found.setdefault(field, message)
    return found
