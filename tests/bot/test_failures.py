"""Which failures are outages (retried) and which are permanent (set aside and answered)."""

from __future__ import annotations

import asyncpg
import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramServerError
from aiogram.methods import GetFile
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from app.bot.failures import is_transient

METHOD = GetFile(file_id="x")


def raised_from(error: BaseException, cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise error from inner
    except BaseException as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, ConnectionRefusedError()),
        ConnectionResetError(),
        TimeoutError(),
        TelegramNetworkError(METHOD, "connection reset"),
        TelegramServerError(METHOD, "Bad Gateway"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock"),
        raised_from(RuntimeError("wrapped"), ConnectionRefusedError()),
        ExceptionGroup("several", [ValueError(), TimeoutError()]),
    ],
)
def test_outages_are_transient(error):
    assert is_transient(error)


def _validation_error() -> ValidationError:
    from aiogram.types import Update

    try:
        Update.model_validate({"update_id": "x"})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "error",
    [
        ValueError("a bug"),
        KeyError("chat"),
        TelegramBadRequest(METHOD, "Bad Request: wrong file identifier"),
        IntegrityError("INSERT", {}, asyncpg.exceptions.UniqueViolationError("dup")),
        DBAPIError("SELECT", {}, asyncpg.exceptions.DataError("out of range")),
        _validation_error(),
        FileNotFoundError("photo.png"),
    ],
)
def test_faults_of_the_update_or_the_code_are_permanent(error):
    assert not is_transient(error)
