"""The silence buttons under alert messages: "🔕 1 год · 4 год · 24 год"."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message

from app.alerts.errors import SilenceError
from app.alerts.render import kyiv_time
from app.alerts.service import CALLBACK_PREFIX, parse_callback

if TYPE_CHECKING:
    from aiogram.types import User

    from app.alerts.service import AlertForwarder

logger = logging.getLogger(__name__)


def who(user: User) -> str:
    """@username, else the name, with the id (Alertmanager's createdBy and the chat note)."""
    name = f"@{user.username}" if user.username else user.full_name
    return f"{name} (tg {user.id})"


def build() -> Router:
    router = Router(name=__name__)

    @router.callback_query(F.data.startswith(f"{CALLBACK_PREFIX}:"))
    async def silence(query: CallbackQuery, alerts: AlertForwarder | None = None) -> None:
        parsed = parse_callback(query.data or "")
        if alerts is None or parsed is None:
            await query.answer("Ця кнопка тут не працює")
            return
        if not alerts.may_silence(query.from_user.id):
            logger.warning("silence refused: user %s is not in KRAMAR_ALERTS_SILENCE_USERS",
                           query.from_user.id)  # fmt: skip
            await query.answer("Немає дозволу глушити алерти (not allowed)", show_alert=True)
            return
        button_id, hours = parsed
        try:
            silence = await alerts.silence(button_id, hours, who(query.from_user))
        except SilenceError as error:
            logger.error("silence not created: %s", error)
            await query.answer(f"Не вдалося: {error}"[:200], show_alert=True)
            return
        await query.answer(f"🔕 Заглушено на {hours} год")
        if isinstance(query.message, Message):
            await alerts.sender.send_text(
                query.message.chat.id,
                f"🔕 Заглушено на {hours} год (до {kyiv_time(silence.ends_at)}, Київ), "
                f"{who(query.from_user)}; silence {silence.id}",
                reply_to=query.message.message_id,
            )

    return router
