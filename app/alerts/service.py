"""The alert forwarder: routes an Alertmanager group to chats, sends it once, silences it.

Dedupe lives in Postgres (table `alert_deliveries`), not in the cache backend: the cache may be
in-process (no Redis), which another replica cannot see, and a Redis backend turns a failed
write into a no-op, so a dedupe record could vanish silently. Postgres is always there, shared
and durable, and a message is recorded part by part as Telegram accepts it.

Two requests carrying the same message (Alertmanager's HA peers, or a retry racing a slow
first attempt) are kept apart by a session-level advisory lock on the delivery key: the loser
answers 503 at once and Alertmanager retries; by then the record says "sent". Postgres drops
the lock with the connection, so a crashed replica leaves nothing stuck.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal

import httpx
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlalchemy import delete, select, text, update
from sqlalchemy.dialects.postgresql import insert

from app.alerts.errors import NoRecipientError, SilenceError
from app.alerts.models import AlertDelivery, SilenceButton
from app.alerts.render import common, pieces, render
from app.observability.metrics import ALERTS_FORWARDED

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

    from app.alerts.schemas import Alert, Notification
    from app.bot.sender import Sender
    from app.config import Settings

logger = logging.getLogger(__name__)

CALLBACK_PREFIX = "am:s"
SILENCE_HOURS = (1, 4, 24)
# Records older than this are pruned; a group still firing after it would be posted once more.
KEEP_DELIVERIES = timedelta(days=30)
ALERTMANAGER_TIMEOUT = 10.0

Outcome = Literal["sent", "duplicate", "error", "busy"]


@dataclass(frozen=True)
class ChatMessage:
    """The message one chat gets for one notification."""

    chat_id: int
    status: Literal["firing", "resolved"]
    key: str
    pieces: list[str]
    matchers: dict[str, str]


@dataclass
class ForwardReport:
    """What happened per chat; `ok` when every chat has the whole message."""

    outcomes: dict[int, Outcome] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(o in ("sent", "duplicate") for o in self.outcomes.values())

    @property
    def busy(self) -> bool:
        return any(o == "busy" for o in self.outcomes.values())


@dataclass(frozen=True)
class Silence:
    id: str
    hours: int
    ends_at: datetime


class AlertForwarder:
    """Everything the alert endpoint and the silence buttons need, in one object."""

    def __init__(self, settings: Settings, sender: Sender, engine: AsyncEngine) -> None:
        self.settings = settings.alerts
        self.oncall_chat_id = settings.oncall_chat_id
        self.sender = sender
        self._engine = engine

    # --- routing and rendering ------------------------------------------------------------

    def chats_for(self, labels: dict[str, str]) -> list[int]:
        """The first route whose labels all match, else the on-call chat; [] when neither."""
        for route in self.settings.routes:
            if all(labels.get(name) == value for name, value in route.match.items()):
                return list(route.chat_ids)
        return [self.oncall_chat_id] if self.oncall_chat_id is not None else []

    def messages(self, notification: Notification) -> list[ChatMessage]:
        """One message per chat, each with the alerts routed there (raises NoRecipientError)."""
        per_chat: dict[int, list[Alert]] = {}
        for alert in notification.alerts:
            chats = self.chats_for(alert.labels)
            if not chats:
                raise NoRecipientError(
                    f"no chat for alert {alert.name}: no KRAMAR_ALERTS_ROUTES entry matches "
                    "its labels and KRAMAR_ONCALL_CHAT_ID is unset"
                )
            for chat_id in chats:
                per_chat.setdefault(chat_id, []).append(alert)
        result = []
        for chat_id, alerts in per_chat.items():
            firing = any(a.status == "firing" for a in alerts)
            text_ = render(
                alerts,
                external_url=notification.external_url,
                truncated=notification.truncated_alerts,
            )
            result.append(
                ChatMessage(
                    chat_id=chat_id,
                    status="firing" if firing else "resolved",
                    key=delivery_key(chat_id, notification.group_key, alerts, firing=firing),
                    pieces=pieces(text_),
                    matchers=common([a.labels for a in alerts]) if firing else {},
                )
            )
        return result

    # --- forwarding -----------------------------------------------------------------------

    async def forward(self, notification: Notification) -> ForwardReport:
        """Send `notification` to its chats, each message at most once, whatever the retries."""
        report = ForwardReport()
        for message in self.messages(notification):
            outcome = await self._deliver(message, notification.group_key)
            report.outcomes[message.chat_id] = outcome
            if outcome == "sent":
                ALERTS_FORWARDED.labels(message.status).inc()
            elif outcome == "duplicate":
                ALERTS_FORWARDED.labels("duplicate").inc()
            else:
                ALERTS_FORWARDED.labels("error").inc()
        return report

    async def _deliver(self, message: ChatMessage, group_key: str) -> Outcome:
        async with self._engine.connect() as conn:
            lock = int.from_bytes(bytes.fromhex(message.key[:16]), "big", signed=True)
            if not await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": lock}):
                await conn.rollback()
                return "busy"
            try:
                await conn.commit()
                return await self._deliver_locked(conn, message, group_key)
            finally:
                try:
                    await conn.rollback()
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock})
                    await conn.commit()
                except BaseException:
                    # A pooled connection must never keep the lock: drop it instead.
                    await conn.invalidate()
                    raise

    async def _deliver_locked(
        self, conn: AsyncConnection, message: ChatMessage, group_key: str
    ) -> Outcome:
        table = AlertDelivery.__table__
        row = (await conn.execute(select(table).where(table.c.key == message.key))).one_or_none()
        if row is None:
            button_id = await self._new_button(conn, message.matchers)
            await conn.execute(
                insert(AlertDelivery).values(
                    key=message.key,
                    chat_id=message.chat_id,
                    group_key=group_key,
                    status=message.status,
                    pieces_total=len(message.pieces),
                    pieces_sent=0,
                    button_id=button_id,
                )
            )
            await conn.commit()
            done = 0
        else:
            button_id, done = row.button_id, row.pieces_sent
            if done >= row.pieces_total:
                return "duplicate"
        keyboard = silence_keyboard(button_id) if button_id else None
        for index in range(done, len(message.pieces)):
            last = index == len(message.pieces) - 1
            sent = await self.sender.send_text(
                message.chat_id,
                message.pieces[index],
                html=True,
                reply_markup=keyboard if last else None,
            )
            if not sent:
                logger.warning(
                    "alert message to chat %s: part %d/%d not accepted by Telegram",
                    message.chat_id,
                    index + 1,
                    len(message.pieces),
                )
                return "error"
            await conn.execute(
                update(AlertDelivery)
                .where(AlertDelivery.key == message.key)
                .values(pieces_sent=index + 1)
            )
            await conn.commit()
        return "sent"

    async def _new_button(self, conn: AsyncConnection, matchers: dict[str, str]) -> str | None:
        if not matchers or not self.settings.alertmanager_url:
            return None
        # Forgetting old rows here keeps both tables small without a separate job.
        cutoff = datetime.now(UTC) - KEEP_DELIVERIES
        await conn.execute(delete(AlertDelivery).where(AlertDelivery.created_at < cutoff))
        await conn.execute(delete(SilenceButton).where(SilenceButton.created_at < cutoff))
        button_id = secrets.token_urlsafe(9)  # 12 characters, 72 random bits
        await conn.execute(insert(SilenceButton).values(id=button_id, matchers=matchers))
        return button_id

    # --- silences -------------------------------------------------------------------------

    def may_silence(self, user_id: int) -> bool:
        return user_id in self.settings.silence_users

    async def silence(self, button_id: str, hours: int, created_by: str) -> Silence:
        """Create a silence in Alertmanager for the alerts behind `button_id`."""
        if not self.settings.alertmanager_url:
            raise SilenceError("KRAMAR_ALERTS_ALERTMANAGER_URL is unset")
        if hours not in SILENCE_HOURS:
            raise SilenceError(f"unsupported silence length: {hours} h")
        async with self._engine.connect() as conn:
            matchers = await conn.scalar(
                select(SilenceButton.matchers).where(SilenceButton.id == button_id)
            )
        if not matchers:
            raise SilenceError("this button is too old; silence it in Alertmanager")
        now = datetime.now(UTC)
        ends = now + timedelta(hours=hours)
        body = {
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True}
                for name, value in sorted(matchers.items())
            ],
            "startsAt": now.isoformat().replace("+00:00", "Z"),
            "endsAt": ends.isoformat().replace("+00:00", "Z"),
            "createdBy": created_by,
            "comment": f"from Telegram by {created_by}, {hours} h",
        }
        url = self.settings.alertmanager_url.rstrip("/") + "/api/v2/silences"
        try:
            async with httpx.AsyncClient(timeout=ALERTMANAGER_TIMEOUT) as client:
                response = await client.post(url, json=body)
        except httpx.HTTPError as error:
            raise SilenceError(f"Alertmanager unreachable: {type(error).__name__}") from error
        if response.status_code != 200:
            raise SilenceError(f"Alertmanager answered {response.status_code}: {response.text}")
        silence_id = str(response.json().get("silenceID", ""))
        logger.info("silence %s for %d h by %s: %s", silence_id, hours, created_by, matchers)
        return Silence(id=silence_id, hours=hours, ends_at=ends)


def delivery_key(chat_id: int, group_key: str, alerts: Sequence[Alert], *, firing: bool) -> str:
    """What makes two notifications the same message for a chat.

    Each alert's own status is part of it: a group that stays firing while one of its alerts
    resolves is news, and must not be taken for a repeat.
    """
    members = sorted(
        (a.fingerprint or _labels_id(a.labels), a.starts_at.astimezone(UTC).isoformat(), a.status)
        for a in alerts
    )
    raw = json.dumps([chat_id, group_key, "firing" if firing else "resolved", members])
    return hashlib.sha256(raw.encode()).hexdigest()


def _labels_id(labels: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]


def silence_keyboard(button_id: str) -> InlineKeyboardMarkup:
    """ "🔕 1 год · 4 год · 24 год"; the data is `am:s:<id>:<hours>` (Telegram allows 64 bytes)."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=("🔕 " if i == 0 else "") + f"{hours} год",
                    callback_data=f"{CALLBACK_PREFIX}:{button_id}:{hours}",
                )
                for i, hours in enumerate(SILENCE_HOURS)
            ]
        ]
    )


def parse_callback(data: str) -> tuple[str, int] | None:
    """(button id, hours) of a silence button's data, or None if it is not one."""
    prefix, _, rest = data.partition(f"{CALLBACK_PREFIX}:")
    button_id, _, hours = rest.rpartition(":")
    if prefix or not button_id or not hours.isdigit():
        return None
    return button_id, int(hours)
