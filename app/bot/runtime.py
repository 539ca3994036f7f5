"""The running bot: aiogram Bot and Dispatcher, inbox workers, and how updates get in.

With `KRAMAR_PUBLIC_URL` Telegram posts to our webhook; the webhook is (re)registered at start
only when what Telegram has differs from what we want, so restarts and several replicas do not
churn it. Without a public URL (a laptop) a long-polling task puts updates into the same inbox,
so the rest of the path is identical.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import hmac
import json
import logging
import os
import socket
import time
from contextlib import asynccontextmanager
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramNetworkError
from aiogram.types import Update
from opentelemetry.trace import SpanKind
from sqlalchemy import text

from app.alerts.service import AlertForwarder
from app.bot.alive import SignsOfLife
from app.bot.api import WEBHOOK_PATH
from app.bot.failures import TURN_FAILED
from app.bot.flood import FloodLimiter
from app.bot.handlers import build_router
from app.bot.inbox import Claimed, Inbox, InboxUnavailableError, customer_chat, listen
from app.bot.outgoing import Outgoing
from app.bot.running import TelegramBot
from app.bot.sender import Sender
from app.bot.updates import RejectedUpdateError, accept
from app.bot.worker import InboxWorker
from app.dialog.replies import Reply, buttons
from app.notices.outbox import deliver_forever
from app.observability.metrics import (
    ANSWER_LATENCY,
    INBOX_OLDEST_PENDING,
    INBOX_PENDING,
    TELEGRAM_UPDATES,
)
from app.observability.tracing import links_from, span

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from opentelemetry.util.types import AttributeValue
    from redis.asyncio import Redis
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.services import Services

logger = logging.getLogger(__name__)

STATS_INTERVAL = 5.0
REPOST_CHECK_INTERVAL = 30
RETENTION_INTERVAL = 3600
POLL_TIMEOUT = 25


def build_dispatcher(services: Services, outgoing: Outgoing) -> Dispatcher:
    """A Dispatcher with every router; dependencies reach handlers by keyword."""
    dispatcher = Dispatcher(
        conversation=services.conversation,
        outgoing=outgoing,
        orders=services.orders,
        manager_chat_id=services.settings.manager_chat_id,
        max_photo_bytes=services.settings.vision.max_bytes,
        download_timeout=services.settings.telegram.download_timeout_seconds,
        alerts=AlertForwarder(services.settings, outgoing.sender, services.db.engine),
    )
    tg = services.settings.telegram
    dispatcher.message.outer_middleware(
        SignsOfLife(interval=tg.typing_interval_seconds, holding=tg.holding_seconds)
    )
    dispatcher.include_router(build_router())
    return dispatcher


def api_server(url: str) -> TelegramAPIServer:
    return TelegramAPIServer.from_base(url.rstrip("/"))


def webhook_url(public_url: str) -> str:
    return public_url.rstrip("/") + WEBHOOK_PATH


async def process_update(bot: Bot, dispatcher: Dispatcher, work: Claimed) -> None:
    """Feed one claimed update (or album) to the dispatcher."""
    attributes: dict[str, AttributeValue] = {
        "telegram.kind": work.kind,
        "telegram.attempt": work.attempts,
    }
    # A link, not a parent: the request span ended long ago, perhaps on another replica,
    # and an album joins several requests.
    links = links_from(*work.traces)
    with span("telegram.update", attributes, kind=SpanKind.CONSUMER, links=links):
        payloads = work.payloads
        if work.kind == "message" and len(payloads) > 1:
            payloads = [burst_update(payloads)]
        updates = [Update.model_validate(p, context={"bot": bot}) for p in payloads]
        extra: dict[str, Any] = {}
        if len(updates) > 1:
            extra["album"] = [u.message for u in updates if u.message is not None]
        await dispatcher.feed_update(bot, updates[0], **extra)


def burst_update(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """Text messages of one chat as one update: the first, with every text in order (its
    update id stays the turn's idempotency key)."""
    first = copy.deepcopy(payloads[0])
    first["message"]["text"] = "\n".join(str(p["message"]["text"]) for p in payloads)
    return first


async def apologize(sender: Sender, work: Claimed) -> None:
    """Tell the customer that their update was set aside, instead of leaving them in silence."""
    chat = customer_chat(work.payloads[0])
    if chat is not None:
        await sender.send_text(chat, TURN_FAILED)


def record_outcome(work: Claimed, outcome: str, _seconds: float) -> None:
    TELEGRAM_UPDATES.labels(work.kind, outcome).inc()
    if outcome == "ok":
        ANSWER_LATENCY.observe(max(0.0, time.time() - work.received_at_epoch))


def webhook_fingerprint(token: str, url: str, secret: str, allowed: list[str]) -> str:
    """HMAC-SHA256, keyed with the bot token, of what a webhook is registered with.

    Keyed, so the stored value reveals nothing about a short secret without the token.
    """
    message = "\n".join([url, secret, *sorted(allowed)]).encode()
    return hmac.new(token.encode(), message, hashlib.sha256).hexdigest()


_REGISTERED = text("SELECT fingerprint FROM telegram_webhook WHERE bot_id = :bot")
_REGISTER = text(
    """
    INSERT INTO telegram_webhook (bot_id, fingerprint) VALUES (:bot, :fingerprint)
    ON CONFLICT (bot_id) DO UPDATE SET fingerprint = excluded.fingerprint, registered_at = now()
    """
)


async def ensure_webhook(
    bot: Bot, engine: AsyncEngine, url: str, secret: str, allowed: list[str]
) -> bool:
    """Register the webhook unless Telegram already has this one; True if it was set.

    Telegram reports the URL and update types but never the secret, so what was registered
    last is kept in Postgres as a fingerprint: a changed secret registers again on the next
    start, with no deleteWebhook by hand.
    """
    fingerprint = webhook_fingerprint(bot.token, url, secret, allowed)
    async with engine.connect() as conn:
        registered = await conn.scalar(_REGISTERED, {"bot": bot.id})
    info = await bot.get_webhook_info()
    if (
        info.url == url
        and sorted(info.allowed_updates or []) == sorted(allowed)
        and registered == fingerprint
    ):
        return False
    await bot.set_webhook(
        url, secret_token=secret, allowed_updates=allowed, drop_pending_updates=False
    )
    async with engine.begin() as conn:
        await conn.execute(_REGISTER, {"bot": bot.id, "fingerprint": fingerprint})
    logger.info("webhook registered at %s for %s", url, ", ".join(allowed))
    return True


async def poll_updates(bot: Bot, inbox: Inbox, worker: InboxWorker, allowed: list[str]) -> None:
    """Long polling into the inbox: an update is confirmed to Telegram (by the next offset)
    only after it is stored."""
    await bot.delete_webhook(drop_pending_updates=False)
    offset: int | None = None
    while True:
        try:
            updates = await bot.get_updates(
                offset=offset, timeout=POLL_TIMEOUT, allowed_updates=allowed
            )
        except (TelegramNetworkError, TelegramAPIError) as error:
            logger.warning("getUpdates failed (%s); retrying in 2 s", type(error).__name__)
            await asyncio.sleep(2)
            continue
        for update in updates:
            raw = update.model_dump(mode="json", exclude_none=True, by_alias=True)
            try:
                try:
                    await inbox.put(accept(raw))
                except RejectedUpdateError as rejected:  # recorded, and the offset moves on
                    await inbox.reject(rejected, json.dumps(raw, ensure_ascii=True).encode())
            except InboxUnavailableError:
                logger.warning("inbox unavailable; the update is fetched again in 2 s")
                await asyncio.sleep(2)
                break
            offset = update.update_id + 1
        if updates:
            worker.wake()


async def report_backlog(inbox: Inbox) -> None:
    while True:
        with contextlib.suppress(Exception):
            count, age = await inbox.stats()
            INBOX_PENDING.set(count)
            INBOX_OLDEST_PENDING.set(age)
        await asyncio.sleep(STATS_INTERVAL)


async def repost_handoffs(services: Services, outgoing: Outgoing) -> None:
    """Post again every hand-off no manager answered in time."""
    wait = timedelta(minutes=services.settings.dialog.handoff_repost_minutes)
    while True:
        await asyncio.sleep(REPOST_CHECK_INTERVAL)
        try:
            for due in await services.handoffs.due(wait):
                text = f"⏰ Ніхто не відповів клієнту вже {due.minutes} хв!\n\n{due.summary}"
                rows = buttons([("🤖 Повернути боту", f"bot:{due.chat_id}")])
                reply = Reply(text, to_manager=True, about_chat=due.chat_id, buttons=rows)
                await outgoing.deliver(due.chat_id, [reply])
        except Exception:
            logger.exception("reposting hand-offs failed; next try in %d s", REPOST_CHECK_INTERVAL)


async def send_manager_notices(services: Services, outgoing: Outgoing) -> None:
    """Send the notice outbox (`app.notices`) to the managers' chat, shared by replicas."""
    chat_id = services.settings.manager_chat_id
    if chat_id is None:
        logger.warning("no KRAMAR_MANAGER_CHAT_ID: manager notices stay in manager_notices")
        return

    async def send(text: str) -> bool:
        return bool(await outgoing.sender.send_text(chat_id, text))

    await deliver_forever(
        services.db.session_factory,
        send,
        interval=services.settings.telegram.poll_interval_seconds,
    )


async def purge_inbox(inbox: Inbox, done_days: int, dead_days: int) -> None:
    """Delete old inbox rows at start and then hourly (every replica may: it is idempotent)."""
    while True:
        try:
            deleted = await inbox.purge(done_days=done_days, dead_days=dead_days)
            if any(deleted.values()):
                logger.info("inbox retention deleted %s", deleted)
        except Exception:
            logger.exception("inbox retention failed; next try in %d s", RETENTION_INTERVAL)
        await asyncio.sleep(RETENTION_INTERVAL)


def flood_redis(services: Services) -> Redis | None:
    settings = services.settings.redis
    if settings.url is None:
        return None
    from app.cache.redis import redis_client

    # No timeout, as before: a send waits for its turn rather than skipping the flood limit.
    return redis_client(
        settings.url.get_secret_value(), max_connections=settings.max_connections, timeout=None
    )


@asynccontextmanager
async def run_bot(services: Services) -> AsyncIterator[TelegramBot]:
    """The bot while the app runs (`app.server.telegram_bot` calls it only with a bot token)."""
    settings = services.settings
    token = settings.telegram.bot_token
    if token is None:
        raise ValueError("run_bot needs KRAMAR_TELEGRAM_BOT_TOKEN")
    tg = settings.telegram
    bot = Bot(token.get_secret_value(), session=AiohttpSession(api=api_server(tg.api_url)))
    redis = flood_redis(services)
    limiter = FloodLimiter(
        redis, per_chat=tg.per_chat_interval_seconds, overall=tg.global_interval_seconds
    )
    outgoing = Outgoing(Sender(bot, limiter), services.backend, settings.manager_chat_id)
    dispatcher = build_dispatcher(services, outgoing)
    inbox = Inbox(
        services.db.engine,
        burst_max=tg.burst_max,
        worker_id=f"{socket.gethostname()}:{os.getpid()}",
        lease_seconds=tg.lease_seconds,
        max_attempts=tg.max_attempts,
        album_wait_seconds=tg.album_wait_seconds,
    )
    worker = InboxWorker(
        inbox,
        partial(process_update, bot, dispatcher),
        concurrency=tg.workers,
        poll_interval=tg.poll_interval_seconds,
        on_outcome=record_outcome,
        on_dead=partial(apologize, outgoing.sender),
    )
    telegram = TelegramBot(bot, dispatcher, inbox, worker, outgoing)
    allowed = dispatcher.resolve_used_update_types()
    tasks: list[asyncio.Task[None]] = []
    try:
        if settings.public_url:
            assert tg.webhook_secret is not None
            try:
                await ensure_webhook(
                    bot,
                    services.db.engine,
                    webhook_url(settings.public_url),
                    tg.webhook_secret.get_secret_value(),
                    allowed,
                )
            except (TelegramNetworkError, TelegramAPIError) as error:
                # Updates already registered keep coming; the next start tries again.
                logger.error("could not check the webhook: %s", type(error).__name__)
        else:
            tasks.append(asyncio.create_task(poll_updates(bot, inbox, worker, allowed)))
        tasks.append(asyncio.create_task(report_backlog(inbox)))
        tasks.append(
            asyncio.create_task(purge_inbox(inbox, tg.retention_days, tg.dead_retention_days))
        )
        if tg.workers > 0:
            tasks.append(asyncio.create_task(repost_handoffs(services, outgoing)))
            tasks.append(asyncio.create_task(send_manager_notices(services, outgoing)))
            tasks.append(asyncio.create_task(listen(services.db.engine, worker.wake)))
            worker.start()
        else:
            logger.info("KRAMAR_TELEGRAM_WORKERS=0: this process only acknowledges updates")
        yield telegram
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await worker.stop()
        await inbox.close()
        await bot.session.close()
        if redis is not None:
            await redis.aclose()
