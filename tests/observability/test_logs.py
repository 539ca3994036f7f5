"""Log lines: JSON lines or text, with the trace id inside a span, and secrets redacted."""

from __future__ import annotations

import io
import json
import logging
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr

from app.config import LinkSettings, Settings
from app.observability import tracing
from app.observability.logs import CHATTY, UVICORN, configure_logging

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"
FILE_URL = f"https://api.telegram.org/file/bot{TOKEN}/photos/file_1.jpg"

log = logging.getLogger("kramar.test")


def settings(**fields: Any) -> Settings:
    return Settings(_env_file=None, **fields)


@pytest.fixture(name="configure")
def fx_configure() -> Iterator[Callable[..., io.StringIO]]:
    """`configure(**settings)`: logging as `kramar` sets it up, into a buffer; undone after."""
    root = logging.getLogger()
    names = [*UVICORN, *CHATTY]
    saved = (
        root.level,
        list(root.handlers),
        {n: (logging.getLogger(n).level, logging.getLogger(n).propagate) for n in names},
    )
    handlers: list[logging.Handler] = []

    def configure(**fields: Any) -> io.StringIO:
        buffer = io.StringIO()
        handlers.append(configure_logging(settings(**fields), stream=buffer))
        return buffer

    yield configure
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(saved[0])
    for name, (level, propagate) in saved[2].items():
        logging.getLogger(name).setLevel(level)
        logging.getLogger(name).propagate = propagate


@pytest.fixture(name="traced")
def fx_traced() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    shutdown = tracing.configure_tracing(settings(otlp_endpoint="http://unused"), exporter=exporter)
    assert shutdown is not None
    yield exporter
    shutdown()


def lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_json_output_is_one_object_per_line(configure):
    buffer = configure(log_format="json")

    log.info("two\nlines: %s", "ok")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        log.exception("failed")

    first, second = lines(buffer)
    assert {k: first[k] for k in ("level", "logger", "message")} == {
        "level": "INFO",
        "logger": "kramar.test",
        "message": "two\nlines: ok",
    }
    assert first["ts"].endswith("+00:00")
    assert "trace_id" not in first and "exc_info" not in first
    assert second["message"] == "failed"
    assert "RuntimeError: boom" in second["exc_info"]


def test_log_record_inside_a_span_carries_its_trace_id(configure, traced):
    buffer = configure(log_format="json")

    with tracing.span("turn") as current:
        log.warning("inside")
    log.warning("outside")

    inside, outside = lines(buffer)
    ids = current.get_span_context()
    assert inside["trace_id"] == format(ids.trace_id, "032x")
    assert inside["span_id"] == format(ids.span_id, "016x")
    assert "trace_id" not in outside


def test_text_lines_end_with_the_trace_id_inside_a_span(configure, traced):
    buffer = configure(log_format="text")

    with tracing.span("turn") as current:
        log.warning("inside")

    trace_id = format(current.get_span_context().trace_id, "032x")
    assert buffer.getvalue().rstrip("\n").endswith(f"WARNING kramar.test: inside trace={trace_id}")


def test_uvicorn_lines_go_through_the_same_handler(configure):
    buffer = configure(log_format="json")

    logging.getLogger("uvicorn.access").info('%s - "%s %s"', "127.0.0.1", "GET", "/health")
    logging.getLogger("httpx").info("HTTP Request: POST %s", FILE_URL)  # chatty: quiet

    [access] = lines(buffer)
    assert (access["logger"], access["message"]) == ("uvicorn.access", '127.0.0.1 - "GET /health"')


def test_bot_token_in_the_message_is_redacted(configure):
    buffer = configure()

    log.warning(f"bot {TOKEN} failed")

    assert TOKEN not in buffer.getvalue()
    assert "bot [REDACTED] failed" in buffer.getvalue()


def test_bot_token_in_an_argument_is_redacted(configure):
    buffer = configure(log_format="json")

    log.warning("token is %s, url %r", TOKEN, {"url": f"/bot{TOKEN}/getMe"})

    [line] = lines(buffer)
    assert TOKEN not in line["message"]
    assert line["message"] == "token is [REDACTED], url {'url': '/bot[REDACTED]/getMe'}"


def test_bot_token_in_an_exception_traceback_is_redacted(configure):
    buffer = configure(log_format="json")

    try:
        raise ConnectionError(f"cannot reach https://api.telegram.org/bot{TOKEN}/sendMessage")
    except ConnectionError:
        log.exception("send failed")

    [line] = lines(buffer)
    assert TOKEN not in buffer.getvalue()
    assert "/bot[REDACTED]/sendMessage" in line["exc_info"]


def test_aiogram_file_url_is_redacted(configure):
    buffer = configure()

    logging.getLogger("aiogram.bot").warning("download failed: %s", FILE_URL)

    assert TOKEN not in buffer.getvalue()
    assert "https://api.telegram.org/file/bot[REDACTED]/photos/file_1.jpg" in buffer.getvalue()


def test_configured_secrets_and_secret_shapes_are_redacted(configure):
    buffer = configure(
        admin_token=SecretStr("adm-4242"),
        telegram={"webhook_secret": SecretStr("hook-secret-1")},
        llm={"links": [LinkSettings(name="p", model="m", api_key=SecretStr("xai-key-777"))]},
        database={"url": SecretStr("postgresql+asyncpg://kramar:db%2Fpass@db/kramar")},
    )

    log.warning("admin adm-4242, hook hook-secret-1, key xai-key-777")
    log.warning("Authorization: Bearer abc.def-ghi, key sk-proj-abcdefghijklmnop1234")
    log.warning("db at postgresql+asyncpg://kramar:db%2Fpass@db/kramar, raw db/pass")
    log.warning("redis at redis://:hunter2@cache:6379/0")

    text = buffer.getvalue()
    for secret in ("adm-4242", "hook-secret-1", "xai-key-777", "abc.def", "sk-proj", "hunter2"):
        assert secret not in text, secret
    assert "db%2Fpass" not in text and "db/pass" not in text
    assert "Authorization: Bearer [REDACTED]" in text
    assert "redis://:[REDACTED]@cache:6379/0" in text


def test_every_secret_setting_is_redacted_the_alerts_token_too(configure):
    """Walks the settings for SecretStr fields, so a secret added later cannot be forgotten."""
    from pydantic_settings import BaseSettings

    values: dict[str, str] = {}
    groups: dict[str, dict[str, SecretStr]] = {}
    top: dict[str, SecretStr] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
            for inner, inner_field in annotation.model_fields.items():
                if "SecretStr" in str(inner_field.annotation) and inner != "url":
                    value = f"{name}-{inner}-s3cr3t"
                    groups.setdefault(name, {})[inner] = SecretStr(value)
                    values[f"{name}.{inner}"] = value
        elif "SecretStr" in str(annotation):
            top[name] = SecretStr(f"{name}-s3cr3t")
            values[name] = f"{name}-s3cr3t"
    assert {"admin_token", "alerts.token", "telegram.webhook_secret"} <= values.keys()
    groups["telegram"]["bot_token"] = SecretStr(TOKEN)
    values["telegram.bot_token"] = TOKEN
    fields: dict[str, Any] = {**top, **groups}
    buffer = configure(**fields)

    for value in values.values():
        log.warning("configured value %s in a message", value)

    text = buffer.getvalue()
    for name, value in values.items():
        assert value not in text, name


FORGED = "\nCRITICAL app.payments: refund of 10000 UAH approved\r\x1b[2J"


def record_starts(text: str) -> list[str]:
    """Lines that begin like a record of the text format (a timestamp)."""
    import re

    return [line for line in text.splitlines() if re.match(r"\d{4}-\d\d-\d\d ", line)]


def test_request_text_cannot_forge_a_log_line(configure):
    buffer = configure(log_format="text")

    log.error("unhandled error in GET %s", f"/api/v1/products/x{FORGED}")
    try:
        raise ValueError(f"bad value {FORGED}")
    except ValueError:
        log.exception("failed on %s", FORGED)

    text = buffer.getvalue()
    assert len(record_starts(text)) == 2
    assert not any(line.startswith("CRITICAL") for line in text.splitlines())
    assert "\x1b" not in text and "\r" not in text
    assert "\\nCRITICAL app.payments" in text  # still readable, escaped


@given(noise=st.text(alphabet=st.characters(codec="utf-8"), max_size=40))
def test_no_text_makes_more_than_one_record_line(noise):
    stream = io.StringIO()
    handler = configure_logging(settings(log_format="text"), stream=stream)
    try:
        log.warning("customer wrote %s", noise)
        try:
            raise RuntimeError(noise)
        except RuntimeError:
            log.exception("turn failed: %s", noise)
    finally:
        logging.getLogger().removeHandler(handler)
    lines = stream.getvalue().splitlines()
    starts = [line for line in lines if line and not line.startswith(" ")]
    assert len(starts) == 2, stream.getvalue()
