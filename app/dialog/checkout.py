"""Checkout steps of the conversation: size, colour (reserving stock), contact, delivery,
summary, confirmation or cancellation. Every figure comes from the product card or the order in
the database; the order a step works on is the chat's draft, read from Postgres for the turn."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from app.catalog.errors import ProductNotFoundError, VariantNotFoundError
from app.dialog import callbacks
from app.dialog.contact import read_contact
from app.dialog.render import colours_in_stock, format_uah, sizes_in_stock, stock_line
from app.dialog.replies import Reply, buttons, pressed_done
from app.dialog.stages import enter
from app.dialog.texts import ASK_NAME, ASK_PHONE, CITY_BRANCH, NOT_SOLD, SHORT_PHONE, STALE_BUTTON
from app.orders.errors import (
    IllegalTransitionError,
    InvalidOrderDataError,
    InvalidPhoneError,
    OrderError,
    OrderNotFoundError,
    ReservationExpiredError,
    SoldOutError,
)
from app.orders.phone import normalize_phone
from app.orders.service import customer
from app.orders.status import DeliveryMethod, OrderStatus

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.catalog.schemas import Product
    from app.dialog.chat import Chat
    from app.orders.schemas import Order
    from app.orders.service import OrderService

logger = logging.getLogger(__name__)

CUSTOMER_MAY_CANCEL = frozenset({OrderStatus.DRAFT, OrderStatus.NEW})
"""The shop's policy: the customer cancels by button until a manager has confirmed the order;
after that only a person can (the goods may be packed or paid for)."""
DONE_BY_MANAGER = {
    OrderStatus.CONFIRMED: "уже підтверджене менеджером",
    OrderStatus.PAID: "уже оплачене",
    OrderStatus.SHIPPED: "уже відправлене",
    OrderStatus.DONE: "уже виконане",
}
DELIVERY_BUTTONS = buttons(
    [("🚚 Нова Пошта", callbacks.delivery("np")), ("🛵 Кур'єр", callbacks.delivery("courier"))]
)


class Checkout:
    """The checkout steps. The conversation calls them with the turn's `Chat`; each returns
    the replies of its step and moves the session (and `chat.draft`) on."""

    def __init__(
        self, *, cards: Callable[[str], Awaitable[Product | None]], orders: OrderService
    ) -> None:
        self._cards = cards
        self._orders = orders

    async def _card(self, sku: str) -> Product | None:
        card = await self._cards(sku)
        return card if card is not None and card.active else None

    # Choosing -----------------------------------------------------------------------------------

    async def choose_size(self, chat: Chat, sku: str) -> list[Reply]:
        card = await self._card(sku)
        if card is None:
            return [Reply(NOT_SOLD)]
        chat.session.selected_skus = [sku]
        sizes = sizes_in_stock(card)
        if not sizes:
            return [Reply(f"На жаль, цього товару зараз немає в наявності: {card.name}.")]
        enter(chat.session, "variant")
        row = [(size, callbacks.choose_colour(sku, size)) for size in sizes]
        return [
            Reply(f"{card.name} — {format_uah(card.price)}. Оберіть розмір:", buttons=buttons(row))
        ]

    async def _sized(self, chat: Chat, sku: str, carried: str) -> tuple[Product, str] | list[Reply]:
        """The card and the size a button names, or the replies saying the size is gone."""
        card = await self._card(sku)
        if card is None:
            return [Reply(NOT_SOLD)]
        size = callbacks.resolve(carried, card.sizes)
        if size is None:
            return [Reply("Такого розміру вже немає."), *await self.choose_size(chat, sku)]
        return card, size

    async def choose_colour(self, chat: Chat, sku: str, carried_size: str) -> list[Reply]:
        found = await self._sized(chat, sku, carried_size)
        if isinstance(found, list):
            return found
        card, size = found
        colours = colours_in_stock(card, size)
        if not colours:
            return [
                Reply(f"Розміру {size} вже немає. {stock_line(card)}"),
                *await self.choose_size(chat, sku),
            ]
        rows = [[(colour, callbacks.reserve(sku, size, colour))] for colour in colours]
        rows.append([("⬅️ Інший розмір", callbacks.choose_size(sku))])
        return [Reply(f"Розмір {size}. Оберіть колір:", buttons=buttons(*rows))]

    async def reserve(
        self, chat: Chat, sku: str, carried_size: str, carried_colour: str
    ) -> list[Reply]:
        """A colour button: the variant it names, if the card still has it."""
        found = await self._sized(chat, sku, carried_size)
        if isinstance(found, list):
            return found
        card, size = found
        colour = callbacks.resolve(carried_colour, card.colours)
        if colour is None:
            return [Reply("Такого кольору вже немає."), *await self.choose_colour(chat, sku, size)]
        return await self.reserve_variant(chat, card, size, colour)

    async def reserve_variant(
        self, chat: Chat, card: Product, size: str, colour: str
    ) -> list[Reply]:
        """Reserve one piece of `card` in `size` and `colour` as the chat's draft."""
        try:
            order = await self._orders.start_order(
                chat.chat_id, card.sku, size, colour, idempotency_key=f"reserve:{chat.event_id}"
            )
        except SoldOutError:
            fresh = await self._cards(card.sku)
            others = stock_line(fresh) if fresh else ""
            gone = f"{card.name}, {size}, {colour}"
            return [Reply(f"На жаль, цей варіант щойно розібрали 😔 ({gone}). {others}".strip())]
        except ProductNotFoundError:  # deactivated since the card was read
            return [Reply(NOT_SOLD)]
        except VariantNotFoundError:
            return [Reply("Такого варіанту вже немає."), *await self.choose_size(chat, card.sku)]
        chat.draft = order
        enter(chat.session, "contact", funnel="variant_chosen")
        minutes = int(self._orders.reservation.total_seconds() // 60)
        text = (
            f"Відкладаю для вас {card.name}, {size}, {colour} — {format_uah(order.total)}. "
            f"Резерв діє {minutes} хв."
        )
        known = chat.session.context
        if known.get("phone") and known.get("name"):  # remembered from the last order
            return [Reply(text), *await self.save_contact(chat, known["name"], known["phone"])]
        return [
            Reply(
                f"{text}\nНадішліть, будь ласка, ваше ім'я та номер телефону (або "
                "натисніть кнопку нижче).",
                ask_contact=True,
            )
        ]

    # Contact and delivery -----------------------------------------------------------------------

    async def typed_contact(self, chat: Chat, text: str) -> list[Reply] | None:
        """Name and phone typed by hand ("Олена, 067 123 45 67"), or one of them with the other
        asked for; None when `text` is no contact at all (a question: the caller answers it)."""
        typed = read_contact(text)
        if typed is None:
            return None
        known = chat.session.context
        if typed.short_number:
            if typed.name:
                known["pending_name"] = typed.name
            return [Reply(SHORT_PHONE, ask_contact=True)]
        name = typed.name or known.get("pending_name")
        phone = typed.phone or known.get("pending_phone")
        return await self.contact_given(chat, name, phone)

    async def contact_given(self, chat: Chat, name: str | None, phone: str | None) -> list[Reply]:
        """Save what is known of the contact, or ask for the part that is missing."""
        known = chat.session.context
        if phone is None:
            if name:
                known["pending_name"] = name
                return [Reply(ASK_PHONE.format(name=name), ask_contact=True)]
            return [Reply(SHORT_PHONE, ask_contact=True)]
        if not name:
            try:
                normalize_phone(phone)
            except InvalidPhoneError:
                return [Reply(SHORT_PHONE, ask_contact=True)]
            known["pending_phone"] = phone
            return [Reply(ASK_NAME)]
        return await self.save_contact(chat, name, phone)

    def contact_reminder(self, chat: Chat) -> list[Reply]:
        """After answering a question mid-checkout: back to the contact step, reservation kept."""
        if chat.handed_off or chat.draft is None or chat.draft.phone:
            return []
        enter(chat.session, "contact")
        return [
            Reply(
                "Щоб завершити замовлення, надішліть ім'я та номер "
                "телефону, наприклад: «Олена, 067 123 45 67».",
                ask_contact=True,
            )
        ]

    async def save_contact(self, chat: Chat, name: str, phone: str) -> list[Reply]:
        if chat.draft is None:
            return [Reply("Дякую! Спершу оберіть товар — надішліть фото або назву.")]
        try:
            order = await self._orders.set_contact(chat.draft.id, name, phone)
        except InvalidPhoneError:
            return [Reply(SHORT_PHONE, ask_contact=True)]
        except InvalidOrderDataError:
            return [
                Reply(
                    "Не вдалося зберегти контакт. Надішліть коротко ім'я та номер, наприклад: "
                    "«Олена, 067 123 45 67».",
                    ask_contact=True,
                )
            ]
        except OrderError:
            return self.restart(chat)
        chat.draft = order
        known = chat.session.context
        known.pop("pending_name", None)
        known.pop("pending_phone", None)
        known.update(name=order.customer_name or name, phone=order.phone or phone)
        enter(chat.session, "delivery", funnel="checkout")
        return [Reply("Як доставити?", buttons=DELIVERY_BUTTONS)]

    def delivery_prompt(self, chat: Chat, method: str) -> list[Reply]:
        if chat.draft is None:
            return self.restart(chat)
        if method == "courier":
            enter(chat.session, "delivery_courier")
            return [
                Reply(
                    "Напишіть місто та адресу доставки, наприклад: «Київ, вул. Січових "
                    "Стрільців 10, кв. 5»."
                )
            ]
        enter(chat.session, "delivery_np")
        return [Reply("Напишіть місто та номер відділення Нової Пошти, наприклад: «Львів, 12».")]

    def delivery_reminder(self) -> list[Reply]:
        return [Reply("Оберіть, будь ласка, як доставити:", buttons=DELIVERY_BUTTONS)]

    async def typed_delivery(self, chat: Chat, text: str) -> list[Reply] | None:
        """The city and branch (or address) typed by hand; None when the delivery method is
        not chosen yet and `text` does not read as a Nova Poshta branch either."""
        if chat.draft is None:
            return self.restart(chat)
        form = chat.session.stage
        found = CITY_BRANCH.match(text)
        if form == "delivery":  # the buttons were shown; "Львів, 12" still means Nova Poshta
            if found is None:
                return None
            form = "delivery_np"
        city, _, rest = text.partition(",")
        try:
            if form == "delivery_np":
                if found is None:
                    return [Reply("Вкажіть місто й номер відділення, наприклад: «Львів, 12».")]
                order = await self._orders.set_delivery(
                    chat.draft.id,
                    DeliveryMethod.NOVA_POSHTA,
                    found.group(1).strip(),
                    branch=found.group(2),
                )
            else:
                if not rest.strip():
                    return [Reply("Вкажіть місто й адресу через кому: «Київ, вул. Хрещатик 1».")]
                order = await self._orders.set_delivery(
                    chat.draft.id, DeliveryMethod.COURIER, city.strip(), address=rest.strip()
                )
        except InvalidOrderDataError as error:
            logger.info("delivery of order %s refused: %s", chat.draft.id, error)
            return [Reply("Не вдалося зберегти адресу. Напишіть її коротше, будь ласка.")]
        except OrderError:
            return self.restart(chat)
        chat.draft = order
        enter(chat.session, "summary")
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
        return Reply(
            text,
            buttons=buttons(
                [
                    ("✅ Підтвердити", callbacks.confirm(order.id)),
                    ("✖️ Скасувати", callbacks.cancel(order.id)),
                ]
            ),
        )

    # Confirming and cancelling ------------------------------------------------------------------

    async def _order_of(self, chat: Chat, order_id: int | None) -> Order | None:
        """The order a summary button names (None: the chat's draft), if it is this chat's."""
        if order_id is None:
            return chat.draft
        try:
            order = await self._orders.get(order_id)
        except OrderNotFoundError:
            return None
        if order.chat_id != chat.chat_id:
            logger.warning("chat %s pressed a button of another chat's order", chat.chat_id)
            return None
        return order

    @staticmethod
    def _where_it_is(order: Order) -> str:
        if order.status is OrderStatus.CANCELLED:
            return (
                f"Замовлення {order.number} скасовано. Щоб оформити нове, надішліть фото чи "
                "назву товару."
            )
        if order.status in DONE_BY_MANAGER:
            return f"Замовлення {order.number} {DONE_BY_MANAGER[order.status]} ✅"
        return f"Замовлення {order.number} уже прийнято ✅ Менеджер зв'яжеться з вами."

    async def confirm(self, chat: Chat, order_id: int | None) -> list[Reply]:
        """✅ under the summary: the draft becomes a new order and the managers get it."""
        used = pressed_done()
        order = await self._order_of(chat, order_id)
        if order is None:
            return [used, *self.restart(chat)] if order_id is None else [used, Reply(STALE_BUTTON)]
        if order.status not in (OrderStatus.DRAFT, OrderStatus.NEW):
            return [used, Reply(self._where_it_is(order))]
        try:
            # A new order with this update's key is a redelivery: it answers as the first did.
            order = await self._orders.confirm(
                order.id, customer(chat.chat_id), idempotency_key=f"confirm:{chat.event_id}"
            )
        except ReservationExpiredError:
            return [used, *self.restart(chat, "Резерв уже сплив.")]
        except IllegalTransitionError:
            return [used, Reply(self._where_it_is(await self._orders.get(order.id)))]
        except OrderError as error:
            logger.info("confirm failed for order %s: %s", order.id, error)
            return [used, *self.restart(chat)]
        chat.draft = None
        enter(chat.session, "ordered", funnel="ordered")
        notice = self.summary(order).text.replace("Перевірте замовлення:", "")
        who = f"@{chat.customer.username}" if chat.customer.username else chat.customer.name
        return [
            used,
            Reply(
                f"Дякуємо! Замовлення {order.number} прийнято ✅ Менеджер зв'яжеться з вами "
                "для підтвердження й оплати."
            ),
            Reply(
                f"🆕 Нове замовлення {order.number} від {who}{notice}",
                to_manager=True,
                about_chat=chat.chat_id,
                buttons=buttons(
                    [
                        ("✅ Підтвердити", f"m:confirmed:{order.id}"),
                        ("💳 Оплачено", f"m:paid:{order.id}"),
                        ("✖️ Скасувати", f"m:cancelled:{order.id}"),
                    ]
                ),
            ),
        ]

    async def cancel(self, chat: Chat, order_id: int | None) -> list[Reply]:
        """✖️ under the summary: the order is cancelled for real (stock released, status history,
        managers told) while the shop's policy allows it; otherwise the customer is told so."""
        used = pressed_done()
        order = await self._order_of(chat, order_id)
        if order is None:
            return [used, Reply(STALE_BUTTON)]
        if order.status not in CUSTOMER_MAY_CANCEL:
            return [used, self._cannot_cancel(order)]
        try:
            cancelled = await self._orders.cancel(
                order.id,
                customer(chat.chat_id),
                "cancelled by the customer",
                only_from=CUSTOMER_MAY_CANCEL,
            )
        except IllegalTransitionError:  # a manager moved it meanwhile
            return [used, self._cannot_cancel(await self._orders.get(order.id))]
        if chat.draft is not None and chat.draft.id == order.id:
            chat.draft = None
        enter(chat.session, "discovery")
        replies = [
            used,
            Reply(
                f"Замовлення {cancelled.number} скасовано. Якщо захочете щось інше — надішліть "
                "фото чи назву."
            ),
        ]
        if order.status is OrderStatus.NEW:  # the managers have it: they must know
            replies.append(
                Reply(
                    f"❌ Клієнт скасував замовлення {cancelled.number}.",
                    to_manager=True,
                    about_chat=chat.chat_id,
                )
            )
        return replies

    def _cannot_cancel(self, order: Order) -> Reply:
        if order.status is OrderStatus.CANCELLED:
            return Reply(f"Замовлення {order.number} уже скасовано.")
        return Reply(
            f"Замовлення {order.number} {DONE_BY_MANAGER.get(order.status, 'уже в роботі')}, "
            "тож скасувати його тут не можна. Покликати менеджера?",
            buttons=buttons([("👩‍💼 Менеджер", callbacks.MANAGER)]),
        )

    def restart(self, chat: Chat, why: str = "") -> list[Reply]:
        enter(chat.session, "identified" if chat.session.selected_skus else "discovery")
        sku = chat.session.selected_skus[0] if chat.session.selected_skus else None
        rows = [[("🛒 Обрати знову", callbacks.choose_size(sku))]] if sku else []
        return [Reply(f"{why} Давайте оформимо замовлення ще раз.".strip(), buttons=buttons(*rows))]
