"""The conversation: one customer's path from "what is this?" to a confirmed order.

Stages (kept in the chat's session, so a restart continues where it stopped):
greeting → discovery → identified (by photo or text) → variant (size, then colour; buttons
offer only what is in stock) → contact → delivery → summary → ordered. A person can be asked
for at any stage (handoff); while handed off, the bot stays silent and relays to the managers.

Every figure the customer sees is rendered here from the product card (the database); the
agent's free text and the vision model's question pass `guard_model_text` first. Effects that
a redelivered update could double (reserving stock, confirming) carry the update id as their
idempotency key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.dialog.checkout import Checkout
from app.dialog.render import format_uah, sizes_in_stock, stock_line
from app.dialog.replies import Reply, buttons
from app.dialog.stages import enter
from app.dialog.texts import (
    GREETING,
    HANDED_OFF,
    HELP,
    L2_REASONS,
    REJECTED_PHOTO,
    UNSUPPORTED,
    problem_in,
)
from app.dialog.truth import guard_model_text
from app.observability.metrics import CONVERSATION_STAGE, ESCALATIONS
from app.vision.errors import ImageRejectedError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.cache.session import ChatSession, SessionCache
    from app.catalog.schemas import Product
    from app.config import DialogSettings
    from app.dialog.agent import TextAgent, TextAnswer
    from app.dialog.handoffs import Handoffs
    from app.orders.service import OrderService
    from app.vision.pipeline import PhotoIdentifier

logger = logging.getLogger(__name__)


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
        self._checkout = Checkout(cards=cards, orders=orders)

    # Entry points --------------------------------------------------------------------------------

    async def start(self, customer: Customer) -> list[Reply]:
        session = await self._sessions.load(customer.chat_id)
        if session.stage == "handoff":
            return []
        enter(session, "discovery", funnel="init")
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
            replies = await self._checkout.typed_delivery(session, text)
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
        replies = await self._checkout.save_contact(session, name or customer.name, phone)
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
                replies = await self._checkout.choose_size(session, rest)
            case "s":
                sku, _, size = rest.partition(":")
                replies = await self._checkout.choose_colour(session, sku, size)
            case "c":
                sku, size, index = rest.rsplit(":", 2)
                replies = await self._checkout.reserve(
                    session, customer, sku, size, int(index), event_id
                )
            case "d":
                replies = self._checkout.delivery_prompt(session, rest)
            case "ok":
                replies = await self._checkout.confirm(session, customer, event_id)
            case "x":
                replies = await self._checkout.cancel(session, customer)
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

    async def _finish(self, session: ChatSession, replies: list[Reply]) -> None:
        for reply in replies:
            if not reply.to_manager:
                session.add_turn("bot", reply.text)
        await self._sessions.save(session)

    async def _typed_contact(
        self, session: ChatSession, customer: Customer, text: str, event_id: str
    ) -> list[Reply]:
        phone = self._checkout.contact_in(text)
        if phone is not None:
            return await self._checkout.typed_contact(session, customer, text, phone)
        # Not a contact: a question or another product. Answer it; the reservation stays.
        replies = await self._ask_agent(session, customer, text, event_id)
        return replies + self._checkout.contact_reminder(session)

    async def _ask_agent(
        self, session: ChatSession, customer: Customer, text: str, event_id: str
    ) -> list[Reply]:
        problem = problem_in(text)
        if problem is not None:
            return await self._handoff(session, customer, "L2", problem, text)
        current = session.selected_skus[0] if session.selected_skus else None
        answer = await self._agent.respond(
            text, current_sku=current, history=session.turns[:-1], stage=session.stage
        )
        reply = answer.reply
        if reply.escalate:
            reason = answer.reason or "asked"
            level = "L2" if reason in L2_REASONS else "L1"
            return await self._handoff(session, customer, level, reason, text)
        if reply.skus and answer.action in ("check_stock", "add_to_order"):
            acted = await self._act(session, customer, answer, event_id)
            if acted:
                return acted
        if session.stage == "greeting":
            enter(session, "discovery", funnel="discovery")
        elif session.stage == "discovery" and not reply.skus:
            CONVERSATION_STAGE.labels("discovery").inc()
        if reply.intent == "order" and reply.skus:
            return await self._checkout.choose_size(session, reply.skus[0])
        if reply.skus:
            card = await self._cards(reply.skus[0])
            if card is not None:
                session.selected_skus = list(reply.skus)
                if card.sku != current:
                    enter(session, "identified", funnel="identified")
                    # The model's words go before the card; the offline agent's under it.
                    if answer.source == "model":
                        return [Reply(reply.text), await self._card(card)]
                    return [await self._card(card, note=reply.text)]
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
            return await self._checkout.choose_size(session, card.sku)
        if colour is None:
            return await self._checkout.choose_colour(session, card.sku, size)
        return await self._checkout.reserve(
            session, customer, card.sku, size, card.colours.index(colour), event_id
        )

    async def _card(self, card: Product, note: str | None = None) -> Reply:
        body = f"{card.name}\nЦіна: {format_uah(card.price)}\n{stock_line(card)}"
        # A note that starts with the name is the offline agent's summary of this same card.
        if note and not note.startswith(card.name):
            body = f"{body}\n\n{note}"
        rows = [[("🛒 Замовити", f"o:{card.sku}")]] if sizes_in_stock(card) else []
        rows.append([("👩‍💼 Менеджер", "h")])
        return Reply(body, photo=await self._photo(card.sku), buttons=buttons(*rows))

    async def _show(self, session: ChatSession, sku: str) -> list[Reply]:
        card = await self._cards(sku)
        if card is None or not card.active:
            return [Reply("Цей товар більше не продається. Надішліть фото іншої речі.")]
        session.selected_skus = [sku]
        enter(session, "identified", funnel="identified")
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
        # The model's own words: no price or promise of its making reaches the customer.
        question = guard_model_text(best.question, cards)[0] if best.question else ""
        if question:
            return [Reply(question, buttons=buttons([("👩‍💼 Менеджер", "h")]))]
        return await self._handoff(
            session,
            customer,
            "L1",
            "unsure",
            "фото не впізнано",
            photo=images[0],
            candidates=[c.sku for c in cards],
        )

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
        enter(session, "handoff")
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
