"""Log lines: text for a terminal, JSON lines for a log collector, secrets never written.

`configure_logging` puts one handler on the root logger; uvicorn's loggers go through it too (so
access lines are JSON and redacted as well). Each line carries the trace id of the span it was
logged in, which leads from a log line to the trace and back.

One record is one line whatever it carries (JSON escapes line breaks; in text format control
characters in the message, from a request path with `%0a` or a customer's text, are escaped and
every line of a traceback is indented), so request text can never start a line that looks like
a record of its own.

Redaction happens on the handler, after the message is formatted with its arguments: a token
passed as an argument, inside a URL object, or quoted in a traceback is caught as well as one in
the message text. Bot tokens must never reach the logs: aiogram and httpx put them in every
request URL (`/bot<token>/sendMessage`, `/file/bot<token>/photos/...`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from app.observability.tracing import current_ids

if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import TextIO

    from pydantic import SecretStr

    from app.config import Settings

REDACTED = "[REDACTED]"

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Patterns of secrets whatever the settings say (a token of another bot, a key in an error).
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Telegram bot token, also inside /bot<token>/ and /file/bot<token>/ URLs.
    (re.compile(r"\d{6,12}:[A-Za-z0-9_-]{30,}"), REDACTED),
    (re.compile(r"\b(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1{REDACTED}"),
    # OpenAI-style API keys: sk-..., sk-proj-...
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
    # The password of a URL: scheme://user:password@host
    (re.compile(r"(://[^\s:/@]*:)[^\s@/]+(@)"), rf"\1{REDACTED}\2"),
]

# Libraries that log every request or event at INFO: a line per Telegram update or HTTP call.
CHATTY = ("httpx", "httpcore", "openai", "aiogram.event", "urllib3", "alembic", "pgserver")

UVICORN = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

# Shorter configured secrets are not redacted literally: four characters would garble ordinary
# words. Secrets that short are weak anyway; the patterns above still apply.
MIN_SECRET_LENGTH = 4


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Log to `stream` (stderr) in `settings.log_format` at `settings.log_level`, redacted.

    Replaces `logging.basicConfig`. Run uvicorn with `log_config=None`, or it installs its own
    handlers over these. Calling it again replaces the handler it installed before.
    """
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.set_name("kramar")
    handler.addFilter(TraceContextFilter())
    handler.addFilter(RedactingFilter(configured_secrets(settings)))
    if settings.log_format == "text":
        # After redaction: it works on the formatted message. JSON escapes line breaks itself.
        handler.addFilter(OneLineFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "kramar"]:
        root.removeHandler(old)
    root.addHandler(handler)
    level = logging.getLevelName(settings.log_level.upper())
    root.setLevel(level if isinstance(level, int) else logging.INFO)

    for name in UVICORN:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        # An earlier uvicorn.run (or dictConfig) may have disabled or raised them.
        logger.disabled = False
        logger.setLevel(logging.NOTSET)
    for name in CHATTY:
        # At DEBUG everything is wanted; otherwise only their problems.
        logging.getLogger(name).setLevel(
            logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
        )
    return handler


def configured_secrets(settings: Settings) -> list[str]:
    """Every secret in `settings`, as it could appear in a log line."""
    values: list[str] = []

    def add(secret: SecretStr | None) -> None:
        if secret is not None:
            values.append(secret.get_secret_value())

    add(settings.telegram.bot_token)
    add(settings.telegram.webhook_secret)
    add(settings.admin_token)
    add(settings.alerts.token)
    add(settings.admin.secret_key)
    add(settings.rag.openai_api_key)
    for link in settings.llm.links:
        add(link.api_key)
    for url in (settings.database.url, settings.redis.url):
        if url is not None:
            try:
                password = urlsplit(url.get_secret_value()).password
            except ValueError:
                continue
            if password:
                values += [password, unquote(password)]
    token = settings.telegram.bot_token
    if token is not None and ":" in token.get_secret_value():
        values.append(token.get_secret_value().split(":", 1)[1])  # the secret half on its own
    return values


def secret_shaped(text: str) -> bool:
    """Whether `text` holds a string shaped like a secret (a bot token, an API key...)."""
    return any(pattern.search(text) for pattern, _ in _PATTERNS)


class RedactingFilter(logging.Filter):
    """Replaces secrets by [REDACTED] in the message, its arguments and the exception text.

    The message is formatted here and its arguments dropped (`args = None`): a secret can hide in
    any argument's `str()`, and only the formatted text shows all of them.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        literal = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
        self._literal = re.compile("|".join(map(re.escape, literal))) if literal else None

    def redact(self, text: str) -> str:
        """`text` with every known secret and secret-shaped string replaced."""
        if self._literal is not None:
            text = self._literal.sub(REDACTED, text)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # bad arguments: logging would print them raw, so show them redacted
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


# Line breaks of every kind (Unicode's too) and other control characters; a tab stays.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """`text` with control characters and line breaks written as escapes (`\\n`, `\\x1b`)."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class OneLineFilter(logging.Filter):
    """Escapes control characters in the (already formatted) message: one record, one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg, record.args = record.getMessage(), None
        record.msg = escape_controls(str(record.msg))
        return True


class TraceContextFilter(logging.Filter):
    """Adds `trace_id` and `span_id` (hex, or None outside a span) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        record.trace_id, record.span_id = ids if ids is not None else (None, None)
        return True


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message trace=<id>`, the trace part only inside a span."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        trace_id = getattr(record, "trace_id", None)
        return f"{line} trace={trace_id}" if trace_id else line

    def formatException(self, ei: Any) -> str:
        return _indented(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:
        return _indented(stack_info)

    def format(self, record: logging.LogRecord) -> str:
        # The redacting filter may have rendered the traceback already (unindented).
        if record.exc_text and not record.exc_text.startswith(_INDENT):
            record.exc_text = _indented(record.exc_text)
        return super().format(record)


_INDENT = "    "


def _indented(block: str) -> str:
    """Every line of a traceback indented (and its control characters escaped): a line of it
    can never pass for the start of a record, whatever an exception message says."""
    return "\n".join(_INDENT + escape_controls(line) for line in block.split("\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, [exc_info], [trace_id, span_id]."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            payload["exc_info"] = record.exc_text
        if record.stack_info:
            payload["stack_info"] = record.stack_info
        trace_id = getattr(record, "trace_id", None)
        if trace_id:
            payload["trace_id"] = trace_id
            payload["span_id"] = getattr(record, "span_id", None)
        # json.dumps escapes newlines (tracebacks): one line per record, whatever it holds.
        return json.dumps(payload, ensure_ascii=False, default=str)


_FORMATTER = logging.Formatter()
