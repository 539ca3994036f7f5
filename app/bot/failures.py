"""Which failures of a turn are worth retrying, and what the customer is told when one is not.

A turn is retried (the inbox backs off and tries again) only when the failure is an outage that
may be over next time: the database, Redis or the network to Telegram. Anything else is
deterministic, a fault of the update or of our code, and retrying it five times only blocks the
chat for half a minute before it is set aside anyway: it is set aside at once, and the customer
gets a polite answer instead of silence. Unknown errors count as permanent: an outage shows up as
one of the connection errors below, a bug does not go away by itself.
"""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import asyncpg
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import InterfaceError as SQLAlchemyInterfaceError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

DOWNLOAD_FAILED = "Не вдалося отримати ваше фото з Telegram 😔 Надішліть його, будь ласка, ще раз."
"""A photo (or every photo of an album) could not be downloaded."""
TURN_FAILED = (
    "Вибачте, сталася помилка, і ми не змогли обробити ваше повідомлення. "
    "Спробуйте, будь ласка, ще раз або напишіть інакше."
)
"""A turn failed in a way that retrying cannot fix, or kept failing until set aside."""

_TRANSIENT: tuple[type[BaseException], ...] = (
    OperationalError,
    SQLAlchemyInterfaceError,
    PoolTimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    RedisConnectionError,
    RedisTimeoutError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramRetryAfter,
    aiohttp.ClientConnectionError,
    aiohttp.ServerTimeoutError,
    ConnectionError,
    socket.gaierror,
    TimeoutError,
    asyncio.TimeoutError,
)
# SQLSTATE classes of a database that is away or overloaded: connection exception, transaction
# rollback (serialization failure, deadlock), insufficient resources, operator intervention
# (shutdown), system error.
_TRANSIENT_SQLSTATES = ("08", "40", "53", "57", "58")


def is_transient(error: BaseException) -> bool:
    """True if `error` (or anything it was raised from) is an outage worth retrying later."""
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, _TRANSIENT):
            return True
        if isinstance(current, DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(current, aiohttp.ClientResponseError) and (
            current.status >= 500 or current.status == 429
        ):
            return True
        sqlstate = getattr(current, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATES):
            return True
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False
