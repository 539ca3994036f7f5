"""The manager chat: replies relayed to customers, /bot, and order buttons."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from app.orders.errors import OrderError
from app.orders.service import OrderService, manager
from app.orders.status import OrderStatus

if TYPE_CHECKING:
    from app.bot.outgoing import Outgoing
    from app.dialog.engine import Conversation

logger = logging.getLogger(__name__)

CUSTOMER_NOTICE = {
    OrderStatus.CONFIRMED: "Ваше замовлення {number} підтверджено ✅",
    OrderStatus.PAID: "Оплату замовлення {number} отримано, дякуємо! 💳",
    OrderStatus.SHIPPED: "Замовлення {number} відправлено 🚚",
    OrderStatus.CANCELLED: "Замовлення {number} скасовано. Якщо це помилка — напишіть нам.",
}


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
        await outgoing.deliver(chat, await conversation.back_to_bot(chat))
        await outgoing.sender.send_text(message.chat.id, "Розмову повернуто боту 🤖")

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
        await outgoing.deliver(chat, await conversation.from_manager(chat, message.text or ""))

    @router.callback_query(F.data.startswith("bot:"))
    async def back_to_bot_button(
        query: CallbackQuery, conversation: Conversation, outgoing: Outgoing
    ) -> None:
        await query.answer("Повернуто боту")
        chat = int((query.data or "bot:0").split(":", 1)[1])
        await outgoing.deliver(chat, await conversation.back_to_bot(chat))

    @router.callback_query(F.data.startswith("m:"))
    async def order_button(query: CallbackQuery, orders: OrderService, outgoing: Outgoing) -> None:
        _, status, order_id = (query.data or "").split(":", 2)
        try:
            order = await orders.change_status(
                int(order_id), OrderStatus(status), manager(query.from_user.id)
            )
        except (OrderError, ValueError) as error:
            await query.answer(f"Не вдалося: {error}"[:190], show_alert=True)
            return
        await query.answer(f"{order.number}: {order.status}")
        notice = CUSTOMER_NOTICE.get(order.status)
        if notice:
            await outgoing.sender.send_text(order.chat_id, notice.format(number=order.number))

    return router
