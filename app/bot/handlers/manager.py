"""The manager chat: replies relayed to customers, /bot, and order buttons."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message, User

from app.orders.errors import OrderError
from app.orders.notices import CUSTOMER_NOTICE
from app.orders.service import OrderService, manager
from app.orders.status import OrderStatus

if TYPE_CHECKING:
    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation

logger = logging.getLogger(__name__)


def _who(user: User | None) -> str:
    return manager(user.id) if user is not None else "manager:unknown"


def _number(data: str | None, prefix: str) -> int | None:
    """The id after `prefix:` in callback data, if it is one (a chat id may be negative)."""
    _, _, value = (data or "").partition(":")
    try:
        number = int(value)
    except ValueError:
        return None
    return number if abs(number) < 2**63 else None


def build() -> Router:
    router = Router(name=__name__)

    # Only the manager chat reaches these handlers; anything else falls through to the others.
    async def from_managers(event: Message | CallbackQuery, manager_chat_id: int | None) -> bool:
        message = event.message if isinstance(event, CallbackQuery) else event
        return (
            manager_chat_id is not None
            and message is not None
            and (message.chat.id == manager_chat_id)
        )

    router.message.filter(from_managers)
    router.callback_query.filter(from_managers)

    @router.message(Command("bot"))
    async def back_to_bot(
        message: Message,
        conversation: Conversation,
        outgoing: Outgoing,
    ) -> None:
        target = message.reply_to_message
        chat = await outgoing.customer_of(target.message_id) if target else None
        if chat is None:
            await outgoing.sender.send_text(
                message.chat.id, "Надішліть /bot реплаєм на повідомлення про передачу розмови."
            )
            return
        replies = await conversation.back_to_bot(chat, by=_who(message.from_user))
        await outgoing.deliver(chat, replies)
        done = "Розмову повернуто боту 🤖" if replies else "Ця розмова вже у бота 🤖"
        await outgoing.sender.send_text(message.chat.id, done)

    @router.message(F.reply_to_message & F.text)
    async def relay(
        message: Message,
        conversation: Conversation,
        outgoing: Outgoing,
    ) -> None:
        assert message.reply_to_message is not None
        chat = await outgoing.customer_of(message.reply_to_message.message_id)
        if chat is None:
            return
        replies = await conversation.from_manager(
            chat, message.text or "", by=_who(message.from_user)
        )
        await outgoing.deliver(chat, replies)

    @router.callback_query(F.data.startswith("bot:"))
    async def back_to_bot_button(
        query: CallbackQuery, conversation: Conversation, outgoing: Outgoing
    ) -> None:
        chat = _number(query.data, "bot")
        if chat is None:
            await query.answer("Ця кнопка не діє", show_alert=True)
            return
        replies = await conversation.back_to_bot(chat, by=manager(query.from_user.id))
        await query.answer("Повернуто боту" if replies else "Ця розмова вже у бота")
        await outgoing.deliver(chat, replies)

    @router.callback_query(F.data.startswith("m:"))
    async def order_button(query: CallbackQuery, orders: OrderService, outgoing: Outgoing) -> None:
        _, _, rest = (query.data or "").partition(":")
        status, _, raw_id = rest.partition(":")
        order_id = _number(f"m:{raw_id}", "m")
        try:
            if order_id is None:
                raise ValueError("this button is not an order button")
            order = await orders.change_status(
                order_id, OrderStatus(status), manager(query.from_user.id)
            )
        except (OrderError, ValueError) as error:
            await query.answer(f"Не вдалося: {error}"[:190], show_alert=True)
            return
        await query.answer(f"{order.number}: {order.status}")
        notice = CUSTOMER_NOTICE.get(order.status)
        if notice:
            await outgoing.sender.send_text(order.chat_id, notice.format(number=order.number))

    return router
