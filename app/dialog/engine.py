"""The conversation: one customer's path from "what is this?" to a confirmed order.

Stages (kept in the chat's session, so a restart continues where it stopped):
greeting → discovery → identified (by photo or text) → variant (size, then colour; buttons
offer only what is in stock) → contact → delivery → summary → ordered. A person can be asked
for at any stage (handoff); while handed off, the bot stays silent and relays to the managers.

Every figure the customer sees is rendered here from the product card (the database); the
agent's free text passes `strip_untrue_prices` first. Effects that a redelivered update could
double (reserving stock, confirming) carry the update id as their idempotency key.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.dialog.render import colours_in_stock, format_uah, sizes_in_stock, stock_line
from app.dialog.replies import Reply, buttons
from app.observability.metrics import CONVERSATION_STAGE, ESCALATIONS
from app.orders.errors import (
    InvalidOrderDataError,
    InvalidPhoneError,
    OrderError,
    ReservationExpiredError,
    SoldOutError,
)
from app.orders.status import DeliveryMethod
from app.vision.errors import ImageRejectedError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.cache.session import ChatSession, SessionCache
    from app.catalog.schemas import Product
    from app.config import DialogSettings
    from app.dialog.agent import TextAgent, TextAnswer
    from app.dialog.handoffs import Handoffs
    from app.orders.schemas import Order
    from app.orders.service import OrderService
    from app.vision.pipeline import PhotoIdentifier

logger = logging.getLogger(__name__)

GREETING = (
    "Вітаю! Я помічник магазину 🛍 Надішліть фото або скріншот речі — скажу, що це, скільки "
    "коштує і які є розміри. Або опишіть, що шукаєте. Щоб покликати менеджера, напишіть «менеджер»."
)
HELP = (
    "Що я вмію:\n• впізнати товар за фото чи скріншотом;\n• підказати ціну, розміри, кольори й "
    "наявність;\n• оформити замовлення з доставкою Новою Поштою або кур'єром.\n"
    "Напишіть «менеджер», щоб поговорити з людиною."
)
UNSUPPORTED = (
    "Вибачте, голосові, відео й стікери я поки не розумію 🙏 Напишіть, будь ласка, текстом або "
    "надішліть фото товару."
)
REJECTED_PHOTO = (
    "Не вдалося відкрити це зображення. Надішліть, будь ласка, фото у форматі JPG або PNG "
    "(до 10 МБ)."
)
HANDED_OFF = "Передаю розмову менеджеру — він відповість тут найближчим часом."
# Problems a bot must not try to solve: straight to a person, level 2, with the reason.
PROBLEMS: dict[str, tuple[str, ...]] = {
    "complaint": ("скарг", "жалоб", "брак", "неякісн", "порван", "обман", "complain", "defect"),
    "payment": ("оплата не пройш", "не пройшла оплата", "списал", "гроші не повер", "refund"),
    "delivery": ("не прийш", "не отрима", "де моя посилка", "загуби", "затримк", "not arrived"),
}
L2_REASONS = frozenset(PROBLEMS)


def problem_in(text: str) -> str | None:
    """ "complaint" | "payment" | "delivery" when the message reports one, else None."""
    lowered = text.casefold()
    for reason, stems in PROBLEMS.items():
        if any(stem in lowered for stem in stems):
            return reason
    return None


PHONE = re.compile(r"\+?\d[\d\s()\-]{8,}\d")
# "Львів 12", "Київ, відділення №25": a city, then the branch number.
CITY_BRANCH = re.compile(
    r"^\s*([^\d,]+?)[\s,]+(?:№|#|відділення|відд\.?|branch)?\s*№?\s*(\d{1,5})\b", re.I
)


@dataclass(frozen=True)
class Customer:
    chat_id: int
    name: str = ""
    username: str | None = None


class Conversation:
    """Turns one customer event into replies. Stateless itself: state lives in the session."""

    def __init__(
        self,
        *,
        sessions: SessionCache,
        cards: Callable[[str], Awaitable[Product | None]],
        photo: Callable[[str], Awaitable[bytes | None]],
        agent: TextAgent,
        identifier: PhotoIdentifier,
        orders: OrderService,
        handoffs: Handoffs,
        settings: DialogSettings,
    ) -> None:
        self._handoffs = handoffs
        self._sessions = sessions
        self._cards = cards
        self._photo = photo
        self._agent = agent
        self._identifier = identifier
        self._orders = orders
        self._settings = settings

    # Entry points --------------------------------------------------------------------------------

    async def start(self, customer: Customer) -> list[Reply]:
        session = await self._sessions.load(customer.chat_id)
        if session.stage == "handoff":
            return []
        self._enter(session, "discovery", funnel="init")
        session.add_turn("bot", GREETING)
        await self._sessions.save(session)
        return [Reply(GREETING)]

    async def help(self, customer: Customer) -> list[Reply]:
        return [Reply(HELP)]

    async def unsupported(self, customer: Customer) -> list[Reply]:
        session = await self._sessions.load(customer.chat_id)
        return [] if session.stage == "handoff" else [Reply(UNSUPPORTED)]

    async def text(self, customer: Customer, text: str, *, event_id: str) -> list[Reply]:
        session = await self._sessions.load(customer.chat_id)
        text = text.strip()[:2000]
        if session.stage == "handoff":
            session.add_turn("customer", text)
            await self._sessions.save(session)
            return [Reply(f"Клієнт: {text}", to_manager=True, about_chat=customer.chat_id)]
        session.add_turn("customer", text)
        if session.stage == "contact":
            replies = await self._typed_contact(session, customer, text, event_id)
        elif session.stage in ("delivery_np", "delivery_courier"):
            replies = await self._typed_delivery(session, text)
        else:
            replies = await self._ask_agent(session, customer, text, event_id)
        await self._finish(session, replies)
        return replies

    async def photos(
        self, customer: Customer, images: list[bytes], caption: str | None
    ) -> list[Reply]:
        session = await self._sessions.load(customer.chat_id)
        if session.stage == "handoff":
            return [
                Reply(
                    "Клієнт надіслав фото",
                    photo=images[0],
                    to_manager=True,
                    about_chat=customer.chat_id,
                )
            ]
        session.add_turn("customer", f"[фото] {caption or ''}".strip())
        replies = await self._identify(session, customer, images, caption)
        await self._finish(session, replies)
        return replies

    async def contact(self, customer: Customer, phone: str, name: str) -> list[Reply]:
        session = await self._sessions.load(customer.chat_id)
        if session.stage == "handoff":
            return []
        replies = await self._save_contact(session, name or customer.name, phone)
        await self._finish(session, replies)
        return replies

    async def callback(self, customer: Customer, data: str, *, event_id: str) -> list[Reply]:
        session = await self._sessions.load(customer.chat_id)
        if session.stage == "handoff":
            return []
        kind, _, rest = data.partition(":")
        replies: list[Reply]
        match kind:
            case "p":
                replies = await self._show(session, rest)
            case "o":
                replies = await self._choose_size(session, rest)
            case "s":
                sku, _, size = rest.partition(":")
                replies = await self._choose_colour(session, sku, size)
            case "c":
                sku, size, index = rest.rsplit(":", 2)
                replies = await self._reserve(session, customer, sku, size, int(index), event_id)
            case "d":
                replies = self._delivery_prompt(session, rest)
            case "ok":
                replies = await self._confirm(session, customer, event_id)
            case "x":
                replies = await self._cancel(session, customer)
            case "h":
                replies = await self._handoff(session, customer, "L1", "asked", "кнопка")
            case _:
                replies = []
        await self._finish(session, replies)
        return replies

    async def back_to_bot(self, chat_id: int) -> list[Reply]:
        """The manager gives the chat back to the bot."""
        session = await self._sessions.load(chat_id)
        session.stage = "discovery"
        await self._sessions.save(session)
        await self._handoffs.close(chat_id)
        return [Reply("Я знову на зв'язку 🙂 Чим ще можу допомогти?")]

    async def from_manager(self, chat_id: int, text: str) -> list[Reply]:
        session = await self._sessions.load(chat_id)
        session.add_turn("bot", text)
        await self._sessions.save(session)
        await self._handoffs.taken(chat_id)
        return [Reply(text)]

    # Steps ---------------------------------------------------------------------------------------

    def _enter(self, session: ChatSession, stage: str, *, funnel: str | None = None) -> None:
        session.stage = stage
        if funnel is not None:
            CONVERSATION_STAGE.labels(funnel).inc()

    async def _finish(self, session: ChatSession, replies: list[Reply]) -> None:
        for reply in replies:
            if not reply.to_manager:
                session.add_turn("bot", reply.text)
        await self._sessions.save(session)

    async def _ask_agent(
        self, session: ChatSession, customer: Customer, text: str, event_id: str
    ) -> list[Reply]:
        problem = problem_in(text)
        if problem is not None:
            return await self._handoff(session, customer, "L2", problem, text)
        current = session.selected_skus[0] if session.selected_skus else None
        answer = await self._agent.respond(text, current_sku=current, history=session.turns[:-1])
        reply = answer.reply
        if reply.escalate:
            reason = answer.reason or "asked"
            level = "L2" if reason in L2_REASONS else "L1"
            return await self._handoff(session, customer, level, reason, text)
        if reply.skus and answer.action in ("check_stock", "add_to_order"):
            acted = await self._act(session, customer, answer, event_id)
            if acted:
                return acted
        if session.stage in ("greeting",):
            self._enter(session, "discovery", funnel="discovery")
        elif session.stage == "discovery" and not reply.skus:
            CONVERSATION_STAGE.labels("discovery").inc()
        if reply.intent == "order" and reply.skus:
            return await self._choose_size(session, reply.skus[0])
        if reply.skus:
            card = await self._cards(reply.skus[0])
            if card is not None:
                changed = card.sku != current
                session.selected_skus = [s for s in reply.skus]
                if changed:
                    self._enter(session, "identified", funnel="identified")
                    return [
                        *([Reply(reply.text)] if answer.source == "model" else []),
                        await self._card(card, reply.text if answer.source != "model" else None),
                    ]
        return [Reply(reply.text)]

    async def _act(
        self, session: ChatSession, customer: Customer, answer: TextAnswer, event_id: str
    ) -> list[Reply]:
        """Run the model's tool on the real services; every figure comes from the card."""
        card = await self._cards(answer.reply.skus[0])
        if card is None or not card.active:
            return []
        session.selected_skus = [card.sku]
        size = next((s for s in card.sizes if s.casefold() == (answer.size or "").casefold()), None)
        colour = next(
            (c for c in card.colours if c.casefold() == (answer.colour or "").casefold()), None
        )
        if answer.action == "check_stock":
            return [Reply(f"{card.name} — {format_uah(card.price)}. {stock_line(card)}")]
        if size is None:
            return await self._choose_size(session, card.sku)
        if colour is None:
            return await self._choose_colour(session, card.sku, size)
        return await self._reserve(
            session, customer, card.sku, size, card.colours.index(colour), event_id
        )

    async def _card(self, card: Product, text: str | None = None) -> Reply:
        body = f"{card.name}\nЦіна: {format_uah(card.price)}\n{stock_line(card)}"
        if text and text not in body:
            body = f"{body}\n\n{text}" if not text.startswith(card.name) else body
        rows = [[("🛒 Замовити", f"o:{card.sku}")]] if sizes_in_stock(card) else []
        rows.append([("👩‍💼 Менеджер", "h")])
        return Reply(body, photo=await self._photo(card.sku), buttons=buttons(*rows))

    async def _show(self, session: ChatSession, sku: str) -> list[Reply]:
        card = await self._cards(sku)
        if card is None or not card.active:
            return [Reply("Цей товар більше не продається. Надішліть фото іншої речі.")]
        session.selected_skus = [sku]
        self._enter(session, "identified", funnel="identified")
        return [await self._card(card)]

    async def _identify(
        self, session: ChatSession, customer: Customer, images: list[bytes], caption: str | None
    ) -> list[Reply]:
        best = None
        for image in images[:3]:  # an album: the first clear answer wins
            try:
                found = await self._identifier.identify(image, caption)
            except ImageRejectedError as rejected:
                logger.info("photo rejected: %s", rejected.reason)
                continue
            if best is None or found.confidence > best.confidence:
                best = found
            if found.sku is not None and found.confidence >= self._settings.high_confidence:
                break
        if best is None:
            return [Reply(REJECTED_PHOTO)]
        if best.sku is not None and best.confidence >= self._settings.high_confidence:
            return await self._show(session, best.sku)
        candidates = [best.sku] if best.sku else []
        candidates += [s for s in best.candidates if s not in candidates]
        cards = [c for c in [await self._cards(s) for s in candidates[:3]] if c and c.active]
        if cards and best.confidence >= self._settings.low_confidence:
            photos = tuple(p for p in [await self._photo(c.sku) for c in cards] if p)
            rows = [[(f"{c.name} — {format_uah(c.price)}", f"p:{c.sku}")] for c in cards]
            rows.append([("Ні, іншe — покликати менеджера", "h")])
            return [Reply("Це один із цих товарів?", buttons=buttons(*rows), album=photos)]
        if best.question:
            return [Reply(best.question, buttons=buttons([("👩‍💼 Менеджер", "h")]))]
        return await self._handoff(
            session,
            customer,
            "L1",
            "unsure",
            "фото не впізнано",
            photo=images[0],
            candidates=[c.sku for c in cards],
        )

    async def _choose_size(self, session: ChatSession, sku: str) -> list[Reply]:
        card = await self._cards(sku)
        if card is None or not card.active:
            return [Reply("Цей товар більше не продається.")]
        session.selected_skus = [sku]
        sizes = sizes_in_stock(card)
        if not sizes:
            return [Reply(f"На жаль, {card.name} зараз немає в наявності.")]
        self._enter(session, "variant")
        row = [(size, f"s:{sku}:{size}") for size in sizes]
        return [
            Reply(f"{card.name} — {format_uah(card.price)}. Оберіть розмір:", buttons=buttons(row))
        ]

    async def _choose_colour(self, session: ChatSession, sku: str, size: str) -> list[Reply]:
        card = await self._cards(sku)
        if card is None:
            return [Reply("Цей товар більше не продається.")]
        colours = colours_in_stock(card, size)
        if not colours:
            return [Reply(f"Розміру {size} вже немає. {stock_line(card)}")] + (
                await self._choose_size(session, sku)
            )
        rows = [[(colour, f"c:{sku}:{size}:{card.colours.index(colour)}")] for colour in colours]
        rows.append([("⬅️ Інший розмір", f"o:{sku}")])
        return [Reply(f"Розмір {size}. Оберіть колір:", buttons=buttons(*rows))]

    async def _reserve(
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
        self._enter(session, "contact", funnel="variant_chosen")
        session.context.update(order_id=str(order.id), size=size, colour=colour)
        minutes = int(self._orders.reservation.total_seconds() // 60)
        text = (
            f"Відкладаю для вас {card.name}, {size}, {colour} — {format_uah(order.total)}. "
            f"Резерв діє {minutes} хв."
        )
        if session.context.get("phone"):
            return [
                Reply(text),
                *await self._save_contact(
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

    async def _typed_contact(
        self, session: ChatSession, customer: Customer, text: str, event_id: str
    ) -> list[Reply]:
        match = PHONE.search(text)
        if match is None:
            # Not a contact: a question or another product. Answer it; the reservation stays.
            replies = await self._ask_agent(session, customer, text, event_id)
            if session.stage != "handoff" and session.context.get("order_id"):
                session.stage = "contact"
                replies.append(
                    Reply(
                        "Щоб завершити замовлення, надішліть ім'я та номер "
                        "телефону, наприклад: «Олена, 067 123 45 67».",
                        ask_contact=True,
                    )
                )
            return replies
        name = (text[: match.start()] + text[match.end() :]).strip(" ,.;-") or customer.name
        return await self._save_contact(session, name, match.group(0))

    async def _save_contact(self, session: ChatSession, name: str, phone: str) -> list[Reply]:
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
            return self._restart_checkout(session)
        session.context.update(name=order.customer_name or name, phone=order.phone or phone)
        self._enter(session, "delivery", funnel="checkout")
        return [
            Reply(
                "Як доставити?",
                buttons=buttons([("🚚 Нова Пошта", "d:np"), ("🛵 Кур'єр", "d:courier")]),
            )
        ]

    def _delivery_prompt(self, session: ChatSession, method: str) -> list[Reply]:
        if session.context.get("order_id") is None:
            return self._restart_checkout(session)
        if method == "courier":
            self._enter(session, "delivery_courier")
            return [
                Reply(
                    "Напишіть місто та адресу доставки, наприклад: «Київ, вул. Січових "
                    "Стрільців 10, кв. 5»."
                )
            ]
        self._enter(session, "delivery_np")
        return [Reply("Напишіть місто та номер відділення Нової Пошти, наприклад: «Львів, 12».")]

    async def _typed_delivery(self, session: ChatSession, text: str) -> list[Reply]:
        order_id = session.context.get("order_id")
        if order_id is None:
            return self._restart_checkout(session)
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
            return self._restart_checkout(session)
        self._enter(session, "summary")
        return [self._summary(order)]

    @staticmethod
    def _summary(order: Order) -> Reply:
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

    async def _confirm(
        self, session: ChatSession, customer: Customer, event_id: str
    ) -> list[Reply]:
        order_id = session.context.get("order_id")
        if order_id is None:
            return self._restart_checkout(session)
        try:
            order = await self._orders.confirm(
                int(order_id), f"customer:{customer.chat_id}", idempotency_key=f"confirm:{event_id}"
            )
        except ReservationExpiredError:
            return self._restart_checkout(session, "Резерв уже сплив.")
        except OrderError as error:
            logger.info("confirm failed for order %s: %s", order_id, error)
            return self._restart_checkout(session)
        self._enter(session, "ordered", funnel="ordered")
        session.context.pop("order_id", None)
        notice = self._summary(order).text.replace("Перевірте замовлення:", "")
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

    async def _cancel(self, session: ChatSession, customer: Customer) -> list[Reply]:
        order_id = session.context.pop("order_id", None)
        if order_id is not None:
            try:
                await self._orders.cancel(
                    int(order_id), f"customer:{customer.chat_id}", "cancelled by the customer"
                )
            except OrderError as error:
                logger.info("cancel of order %s: %s", order_id, error)
        self._enter(session, "discovery")
        return [Reply("Замовлення скасовано. Якщо захочете щось інше — надішліть фото чи назву.")]

    def _restart_checkout(self, session: ChatSession, why: str = "") -> list[Reply]:
        session.context.pop("order_id", None)
        self._enter(session, "identified" if session.selected_skus else "discovery")
        sku = session.selected_skus[0] if session.selected_skus else None
        rows = [[("🛒 Обрати знову", f"o:{sku}")]] if sku else []
        return [Reply(f"{why} Давайте оформимо замовлення ще раз.".strip(), buttons=buttons(*rows))]

    async def _handoff(
        self,
        session: ChatSession,
        customer: Customer,
        level: str,
        reason: str,
        why: str,
        *,
        photo: bytes | None = None,
        candidates: list[str] | None = None,
    ) -> list[Reply]:
        ESCALATIONS.labels(level, reason).inc()
        self._enter(session, "handoff")
        history = "\n".join(
            f"{'👤' if t.role == 'customer' else '🤖'} {t.text}" for t in session.turns[-6:]
        )
        who = f"@{customer.username}" if customer.username else customer.name
        extra = f"\nКандидати: {', '.join(candidates)}" if candidates else ""
        if session.selected_skus:
            extra += f"\nТовар у розмові: {session.selected_skus[0]}"
        text = (
            f"🆘 Передача розмови ({level}, {reason}) — {who}\nПричина: {why}{extra}\n\n"
            f"{history}\n\nВідповідайте реплаєм на це повідомлення; /bot — повернути боту."
        )
        return [
            Reply(HANDED_OFF),
            Reply(
                text,
                photo=photo,
                to_manager=True,
                about_chat=customer.chat_id,
                buttons=buttons([("🤖 Повернути боту", f"bot:{customer.chat_id}")]),
            ),
        ]
