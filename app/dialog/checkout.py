"""Checkout steps of the conversation: size, colour (reserving stock), contact, delivery,
summary, confirmation. Every figure comes from the product card or the order in the database."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.dialog.render import colours_in_stock, format_uah, sizes_in_stock, stock_line
from app.dialog.replies import Reply, buttons
from app.dialog.stages import enter
from app.dialog.texts import CITY_BRANCH, PHONE
from app.orders.errors import (
    InvalidOrderDataError,
    InvalidPhoneError,
    OrderError,
    ReservationExpiredError,
    SoldOutError,
)
from app.orders.status import DeliveryMethod

if TYPE_CHECKING:
    import re
    from collections.abc import Awaitable, Callable

    from app.cache.session import ChatSession
    from app.catalog.schemas import Product
    from app.dialog.engine import Customer
    from app.orders.schemas import Order
    from app.orders.service import OrderService

logger = logging.getLogger(__name__)


class Checkout:
    """The checkout steps. The conversation calls them with the chat's session; each returns
    the replies of its step and moves the session on."""

    def __init__(
        self, *, cards: Callable[[str], Awaitable[Product | None]], orders: OrderService
    ) -> None:
        self._cards = cards
        self._orders = orders

    async def choose_size(self, session: ChatSession, sku: str) -> list[Reply]:
        card = await self._cards(sku)
        if card is None or not card.active:
            return [Reply("Цей товар більше не продається.")]
        session.selected_skus = [sku]
        sizes = sizes_in_stock(card)
        if not sizes:
            return [Reply(f"На жаль, {card.name} зараз немає в наявності.")]
        enter(session, "variant")
        row = [(size, f"s:{sku}:{size}") for size in sizes]
        return [
            Reply(f"{card.name} — {format_uah(card.price)}. Оберіть розмір:", buttons=buttons(row))
        ]

    async def choose_colour(self, session: ChatSession, sku: str, size: str) -> list[Reply]:
        card = await self._cards(sku)
        if card is None:
            return [Reply("Цей товар більше не продається.")]
        colours = colours_in_stock(card, size)
        if not colours:
            return [Reply(f"Розміру {size} вже немає. {stock_line(card)}")] + (
                await self.choose_size(session, sku)
            )
        rows = [[(colour, f"c:{sku}:{size}:{card.colours.index(colour)}")] for colour in colours]
        rows.append([("⬅️ Інший розмір", f"o:{sku}")])
        return [Reply(f"Розмір {size}. Оберіть колір:", buttons=buttons(*rows))]

    async def reserve(
        self,
        session: ChatSession,
        customer: Customer,
        sku: str,
        size: str,
        index: int,
        event_id: str,
    ) -> list[Reply]:
        card = await self._cards(sku)
        if card is None or not 0 <= index < len(card.colours):
            return [Reply("Цей товар більше не продається.")]
        colour = card.colours[index]
        try:
            order = await self._orders.start_order(
                customer.chat_id, sku, size, colour, idempotency_key=f"reserve:{event_id}"
            )
        except SoldOutError:
            fresh = await self._cards(sku)
            others = stock_line(fresh) if fresh else ""
            return [Reply(f"На жаль, {card.name} ({size}, {colour}) щойно розібрали 😔 {others}")]
        enter(session, "contact", funnel="variant_chosen")
        session.context.update(order_id=str(order.id), size=size, colour=colour)
        minutes = int(self._orders.reservation.total_seconds() // 60)
        text = (
            f"Відкладаю для вас {card.name}, {size}, {colour} — {format_uah(order.total)}. "
            f"Резерв діє {minutes} хв."
        )
        if session.context.get("phone"):
            return [
                Reply(text),
                *await self.save_contact(
                    session, session.context.get("name", customer.name), session.context["phone"]
                ),
            ]
        return [
            Reply(
                f"{text}\nНадішліть, будь ласка, ваше ім'я та номер телефону (або "
                "натисніть кнопку нижче).",
                ask_contact=True,
            )
        ]

    def contact_in(self, text: str) -> re.Match[str] | None:
        """The phone number in a typed message, if it has one."""
        return PHONE.search(text)

    async def typed_contact(
        self, session: ChatSession, customer: Customer, text: str, phone: re.Match[str]
    ) -> list[Reply]:
        """Name and phone typed by hand ("Олена, 067 123 45 67")."""
        name = (text[: phone.start()] + text[phone.end() :]).strip(" ,.;-") or customer.name
        return await self.save_contact(session, name, phone.group(0))

    def contact_reminder(self, session: ChatSession) -> list[Reply]:
        """After answering a question mid-checkout: back to the contact step, reservation kept."""
        if session.stage == "handoff" or not session.context.get("order_id"):
            return []
        session.stage = "contact"
        return [
            Reply(
                "Щоб завершити замовлення, надішліть ім'я та номер "
                "телефону, наприклад: «Олена, 067 123 45 67».",
                ask_contact=True,
            )
        ]

    async def save_contact(self, session: ChatSession, name: str, phone: str) -> list[Reply]:
        order_id = session.context.get("order_id")
        if order_id is None:
            return [Reply("Дякую! Спершу оберіть товар — надішліть фото або назву.")]
        try:
            order = await self._orders.set_contact(int(order_id), name or "Клієнт", phone)
        except InvalidPhoneError:
            return [
                Reply(
                    "Схоже, номер неповний. Вкажіть український номер, наприклад 067 123 45 67.",
                    ask_contact=True,
                )
            ]
        except OrderError:
            return self.restart(session)
        session.context.update(name=order.customer_name or name, phone=order.phone or phone)
        enter(session, "delivery", funnel="checkout")
        return [
            Reply(
                "Як доставити?",
                buttons=buttons([("🚚 Нова Пошта", "d:np"), ("🛵 Кур'єр", "d:courier")]),
            )
        ]

    def delivery_prompt(self, session: ChatSession, method: str) -> list[Reply]:
        if session.context.get("order_id") is None:
            return self.restart(session)
        if method == "courier":
            enter(session, "delivery_courier")
            return [
                Reply(
                    "Напишіть місто та адресу доставки, наприклад: «Київ, вул. Січових "
                    "Стрільців 10, кв. 5»."
                )
            ]
        enter(session, "delivery_np")
        return [Reply("Напишіть місто та номер відділення Нової Пошти, наприклад: «Львів, 12».")]

    async def typed_delivery(self, session: ChatSession, text: str) -> list[Reply]:
        order_id = session.context.get("order_id")
        if order_id is None:
            return self.restart(session)
        city, _, rest = text.partition(",")
        try:
            if session.stage == "delivery_np":
                found = CITY_BRANCH.match(text)
                if found is None:
                    return [Reply("Вкажіть місто й номер відділення, наприклад: «Львів, 12».")]
                order = await self._orders.set_delivery(
                    int(order_id),
                    DeliveryMethod.NOVA_POSHTA,
                    found.group(1).strip(),
                    branch=found.group(2),
                )
            else:
                if not rest.strip():
                    return [Reply("Вкажіть місто й адресу через кому: «Київ, вул. Хрещатик 1».")]
                order = await self._orders.set_delivery(
                    int(order_id), DeliveryMethod.COURIER, city.strip(), address=rest.strip()
                )
        except InvalidOrderDataError as error:
            return [Reply(f"Не вдалося зберегти адресу: {error}. Спробуйте ще раз.")]
        except OrderError:
            return self.restart(session)
        enter(session, "summary")
        return [self.summary(order)]

    @staticmethod
    def summary(order: Order) -> Reply:
        lines = "\n".join(
            f"• {line.name}, {line.size}, {line.colour} × {line.qty} — "
            f"{format_uah(line.line_total)}"
            for line in order.lines
        )
        if order.delivery_method == DeliveryMethod.NOVA_POSHTA:
            where = f"Нова Пошта: {order.city}, відділення №{order.branch}"
        else:
            where = f"Кур'єр: {order.city}, {order.address}"
        text = (
            f"Перевірте замовлення:\n{lines}\nРазом: {format_uah(order.total)}\n"
            f"Отримувач: {order.customer_name}, {order.phone}\n{where}"
        )
        return Reply(text, buttons=buttons([("✅ Підтвердити", "ok"), ("✖️ Скасувати", "x")]))

    async def confirm(self, session: ChatSession, customer: Customer, event_id: str) -> list[Reply]:
        order_id = session.context.get("order_id")
        if order_id is None:
            return self.restart(session)
        try:
            order = await self._orders.confirm(
                int(order_id), f"customer:{customer.chat_id}", idempotency_key=f"confirm:{event_id}"
            )
        except ReservationExpiredError:
            return self.restart(session, "Резерв уже сплив.")
        except OrderError as error:
            logger.info("confirm failed for order %s: %s", order_id, error)
            return self.restart(session)
        enter(session, "ordered", funnel="ordered")
        session.context.pop("order_id", None)
        notice = self.summary(order).text.replace("Перевірте замовлення:", "")
        who = f"@{customer.username}" if customer.username else customer.name
        return [
            Reply(
                f"Дякуємо! Замовлення {order.number} прийнято ✅ Менеджер зв'яжеться з вами "
                "для підтвердження й оплати."
            ),
            Reply(
                f"🆕 Нове замовлення {order.number} від {who}{notice}",
                to_manager=True,
                about_chat=customer.chat_id,
                buttons=buttons(
                    [
                        ("✅ Підтвердити", f"m:confirmed:{order.id}"),
                        ("💳 Оплачено", f"m:paid:{order.id}"),
                        ("✖️ Скасувати", f"m:cancelled:{order.id}"),
                    ]
                ),
            ),
        ]

    async def cancel(self, session: ChatSession, customer: Customer) -> list[Reply]:
        order_id = session.context.pop("order_id", None)
        if order_id is not None:
            try:
                await self._orders.cancel(
                    int(order_id), f"customer:{customer.chat_id}", "cancelled by the customer"
                )
            except OrderError as error:
                logger.info("cancel of order %s: %s", order_id, error)
        enter(session, "discovery")
        return [Reply("Замовлення скасовано. Якщо захочете щось інше — надішліть фото чи назву.")]

    def restart(self, session: ChatSession, why: str = "") -> list[Reply]:
        session.context.pop("order_id", None)
        enter(session, "identified" if session.selected_skus else "discovery")
        sku = session.selected_skus[0] if session.selected_skus else None
        rows = [[("🛒 Обрати знову", f"o:{sku}")]] if sku else []
        return [Reply(f"{why} Давайте оформимо замовлення ще раз.".strip(), buttons=buttons(*rows))]
