"""The last resort: an update whose handler failed still gets an answer and is not retried.

An unexpected error (a bug, a database that refuses a statement) would otherwise propagate to
the inbox worker, which retries the update with back-off and blocks the chat behind it until it
is set aside. Retrying a deterministic failure helps nobody: the customer is told something went
wrong, the error is logged (with the trace id, like every log line inside the update's span)
and counted, and the handler reports the update as handled. An outage (the database or Redis
away, Telegram unreachable: `app.bot.failures.is_transient`) is not handled here: it goes back to
the inbox, which retries it with back-off and tells the customer if it is finally set aside.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import Router

from app.bot.failures import is_transient
from app.bot.inbox import update_kind
from app.dialog.texts import SORRY
from app.observability.metrics import BOT_HANDLER_ERRORS

if TYPE_CHECKING:
    from aiogram.types import ErrorEvent, Update

    from app.bot.outgoing import Outgoing

logger = logging.getLogger(__name__)

MANAGERS_SORRY = "⚠️ Не вдалося виконати дію: сталася помилка (її записано в журнал)."


def chat_of(update: Update) -> int | None:
    """The chat to answer an update in, if it has one."""
    message = update.message or update.edited_message
    if message is not None:
        return message.chat.id
    query = update.callback_query
    if query is not None:
        return query.message.chat.id if query.message is not None else query.from_user.id
    return None


def build() -> Router:
    router = Router(name=__name__)

    @router.errors()
    async def unexpected(event: ErrorEvent, outgoing: Outgoing) -> bool:
        if is_transient(event.exception):
            raise event.exception  # retried by the inbox: next time it may work
        update = event.update
        kind = update_kind(update.model_dump(mode="json", exclude_none=True))
        BOT_HANDLER_ERRORS.labels(kind).inc()
        logger.error(
            "update %s (%s) failed; answered with an apology, not retried",
            update.update_id,
            kind,
            exc_info=event.exception,
        )
        chat_id = chat_of(update)
        if chat_id is not None:
            text = MANAGERS_SORRY if chat_id == outgoing.manager_chat_id else SORRY
            try:
                await outgoing.sender.send_text(chat_id, text)
            except Exception:  # the sender does not raise for Telegram; this is a bug too
                logger.exception("could not apologise in chat %s", chat_id)
        return True

    return router
