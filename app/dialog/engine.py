"""The conversation: one customer's path from "what is this?" to a confirmed order.

Facts are read from Postgres on every turn: whether a person has the chat (its live hand-off)
and the order being checked out (the chat's draft). The session cache holds only conversational
context (recent turns, the product in focus, the step of a form), so losing it (TTL, a Redis
flush) may make the bot ask again but never gives a handed-off chat back to the bot nor loses
an order. Stages are in `app.dialog.stages`; the checkout steps in `app.dialog.checkout`.

While a person has the chat, the customer's messages are relayed to the managers and the bot
itself only says, to buttons and commands, that a manager has the chat. With no manager chat
configured there is nobody to hand off to: the customer is told how to reach the shop, and the
bot goes on answering.

Every figure the customer sees is rendered from the product card or the order (the database);
the agent's free text and the vision model's question pass `guard_model_text` first. Effects
that a redelivered update could double (reserving stock, confirming) carry the update id as
their idempotency key.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, assert_never

from app.dialog import callbacks, shop_texts, typed
from app.dialog.chat import Chat, Customer
from app.dialog.checkout import Checkout
from app.dialog.leaks import LeakGuard
from app.dialog.render import format_uah, sizes_in_stock, stock_line
from app.dialog.replies import Button, Reply, buttons
from app.dialog.stages import enter, follow_draft
from app.dialog.texts import (
    BACK_TO_BOT,
    GREETING,
    HANDED_OFF,
    HELP,
    L2_REASONS,
    REJECTED_PHOTO,
    STALE_BUTTON,
    UNSUPPORTED,
    WITH_MANAGER,
    problem_in,
    reach_the_shop,
)
from app.dialog.truth import guard_model_text
from app.observability.metrics import CONVERSATION_STAGE, ESCALATIONS
from app.vision.errors import ImageRejectedError
from app.vision.intake import MAX_PHOTOS_PER_REQUEST

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.cache.session import SessionCache
    from app.catalog.schemas import Product
    from app.config import DialogSettings
    from app.dialog.agent import TextAgent
    from app.dialog.handoffs import Handoffs, Live
    from app.dialog.offline import AgentReply
    from app.orders.service import OrderService
    from app.shop.schemas import Shop
    from app.vision.pipeline import PhotoIdentifier

__all__ = ["Conversation", "Customer"]

logger = logging.getLogger(__name__)

NO_MANAGER_CHAT = "system:no-manager-chat"
# The vision model's clarifying question: secret-shaped strings never reach the customer.
SECRETS = LeakGuard()
"""Who closes a hand-off at once when no manager chat is configured."""


class Conversation:
    """Turns one customer event into replies. Stateless itself: facts live in Postgres, the
    conversational context in the session."""

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
        staffed: bool = True,
        shop: Callable[[], Awaitable[Shop | None]] | None = None,
    ) -> None:
        """`staffed`: a manager chat is configured, so a hand-off reaches a person. `shop`:
        the shop section (its contacts are told when nobody can take a hand-off)."""
        self._handoffs = handoffs
        self._sessions = sessions
        self._cards = cards
        self._photo = photo
        self._agent = agent
        self._identifier = identifier
        self._orders = orders
        self._settings = settings
        self.staffed = staffed
        self._shop = shop
        self._checkout = Checkout(cards=cards, orders=orders)

    # Entry points --------------------------------------------------------------------------------

    async def start(self, customer: Customer) -> list[Reply]:
        chat, live = await self._open(customer)
        if live is not None:
            return [Reply(WITH_MANAGER)]
        enter(chat.session, "discovery", funnel="init")
        return await self._finish(chat, [Reply(GREETING)])

    async def help(self, customer: Customer) -> list[Reply]:
        return [Reply(HELP)]

    async def unsupported(self, customer: Customer) -> list[Reply]:
        # Said during a hand-off too: a voice message or a sticker cannot be relayed.
        return [Reply(UNSUPPORTED)]

    async def text(self, customer: Customer, text: str, *, event_id: str) -> list[Reply]:
        chat, live = await self._open(customer, event_id)
        text = text.strip()[:2000]
        chat.session.add_turn("customer", text)
        if live is not None:
            return await self._finish(chat, [self._to_managers(chat, f"Клієнт: {text}")])
        stage = chat.session.stage
        pressed = typed.match(text, chat.session.choices)
        if pressed is not None:  # a button's label typed instead of pressing it
            replies = await self._press_typed(chat, pressed)
        elif stage == "contact":
            replies = await self._typed_contact(chat, text)
        elif stage in ("delivery", "delivery_np", "delivery_courier"):
            given = await self._checkout.typed_delivery(chat, text)
            if given is None:  # a question instead of an address: answer it, ask again
                given = await self._ask_agent(chat, text)
                if not chat.handed_off:
                    given += self._checkout.delivery_reminder()
            replies = given
        else:
            replies = await self._ask_agent(chat, text)
        return await self._finish(chat, replies)

    async def photos(
        self, customer: Customer, images: list[bytes], caption: str | None
    ) -> list[Reply]:
        chat, live = await self._open(customer)
        chat.session.add_turn("customer", f"[фото] {caption or ''}".strip())
        if live is not None:
            text = f"Клієнт надіслав фото: {caption}" if caption else "Клієнт надіслав фото"
            relay = self._to_managers(chat, text, photo=images[0])
            return await self._finish(chat, [relay])
        return await self._finish(chat, await self._identify(chat, images, caption))

    async def contact(self, customer: Customer, phone: str, name: str) -> list[Reply]:
        chat, live = await self._open(customer)
        if live is not None:
            relay = self._to_managers(chat, f"Клієнт поділився номером: {phone}")
            return await self._finish(chat, [relay])
        # The contact card's name (a shared contact has one); else the one given before, or ask.
        given = name.strip() or chat.session.context.get("pending_name")
        replies = await self._checkout.contact_given(chat, given, phone)
        return await self._finish(chat, replies)

    async def callback(self, customer: Customer, data: str, *, event_id: str) -> list[Reply]:
        chat, live = await self._open(customer, event_id)
        if live is not None:
            return [Reply(WITH_MANAGER)]
        try:
            action = callbacks.parse(data)
        except callbacks.StaleButtonError as stale:
            logger.info("button not understood: %s", stale)
            return await self._finish(chat, [Reply(STALE_BUTTON)])
        return await self._finish(chat, await self._press(chat, action))

    async def back_to_bot(self, chat_id: int, by: str) -> list[Reply]:
        """A manager (`by`) gives the chat back to the bot; nothing if it was not handed off."""
        if not await self._handoffs.close(chat_id, by):
            return []
        await self._sessions.append(chat_id, "bot", BACK_TO_BOT)
        return [Reply(BACK_TO_BOT)]

    async def from_manager(self, chat_id: int, text: str, by: str) -> list[Reply]:
        """A manager's (`by`) reply, relayed to the customer: the hand-off is taken."""
        await self._handoffs.taken(chat_id, by)
        # Only appended: the customer's own turn may be saving this session at the same time.
        await self._sessions.append(chat_id, "bot", text)
        return [Reply(text)]

    # Turns ---------------------------------------------------------------------------------------

    async def _open(self, customer: Customer, event_id: str = "") -> tuple[Chat, Live | None]:
        """The turn's chat: the session, and from Postgres the live hand-off and the draft."""
        session = await self._sessions.load(customer.chat_id)
        chat = Chat(customer, session, event_id=event_id, opened_at=session.stage)
        live = await self._handoffs.live(customer.chat_id)
        if live is None:
            chat.draft = await self._orders.draft_for(customer.chat_id)
            follow_draft(session, chat.draft)
        return chat, live

    async def _finish(self, chat: Chat, replies: list[Reply]) -> list[Reply]:
        shown = [r for r in replies if not r.to_manager and not r.edit_pressed]
        for reply in shown:
            chat.session.add_turn("bot", reply.text)
        with_buttons = [r for r in shown if r.buttons]
        if with_buttons:  # what a typed label may press next
            last = with_buttons[-1]
            chat.session.choices = [(b.text, b.data) for row in last.buttons for b in row]
        elif chat.session.stage != chat.opened_at or chat.handed_off:
            chat.session.choices = []
        await self._sessions.save(chat.session)
        return replies

    async def _press_typed(self, chat: Chat, data: str) -> list[Reply]:
        try:
            action = callbacks.parse(data)
        except callbacks.StaleButtonError:  # a button of an older version: ask again
            return [Reply(STALE_BUTTON)]
        return await self._press(chat, action)

    @staticmethod
    def _to_managers(chat: Chat, text: str, *, photo: bytes | None = None) -> Reply:
        return Reply(text, photo=photo, to_manager=True, about_chat=chat.chat_id)

    async def _press(self, chat: Chat, action: callbacks.Action) -> list[Reply]:
        checkout = self._checkout
        match action:
            case callbacks.Show(sku):
                return await self._show(chat, sku)
            case callbacks.ChooseSize(sku):
                return await checkout.choose_size(chat, sku)
            case callbacks.ChooseColour(sku, size):
                return await checkout.choose_colour(chat, sku, size)
            case callbacks.Reserve(sku, size, colour):
                return await checkout.reserve(chat, sku, size, colour)
            case callbacks.Delivery(method):
                return checkout.delivery_prompt(chat, method)
            case callbacks.Confirm(order_id):
                return await checkout.confirm(chat, order_id)
            case callbacks.Cancel(order_id):
                return await checkout.cancel(chat, order_id)
            case callbacks.Manager():
                return await self._handoff(chat, "L1", "asked", "кнопка")
        assert_never(action)

    async def _typed_contact(self, chat: Chat, text: str) -> list[Reply]:
        given = await self._checkout.typed_contact(chat, text)
        if given is not None:
            return given
        # Not a contact: a question or another product. Answer it; the reservation stays.
        replies = await self._ask_agent(chat, text)
        return replies + self._checkout.contact_reminder(chat)

    async def _ask_agent(self, chat: Chat, text: str) -> list[Reply]:
        session = chat.session
        problem = problem_in(text)
        if problem is not None:
            return await self._handoff(chat, "L2", problem, text)
        answer = await self._agent.respond(
            text, focus=session.selected_skus, history=session.turns[:-1], stage=session.stage
        )
        reply = answer.reply
        if reply.escalate:
            reason = answer.reason or "asked"
            level = "L2" if reason in L2_REASONS else "L1"
            return await self._handoff(chat, level, reason, text)
        if session.stage == "greeting":
            enter(session, "discovery", funnel="discovery")
        elif session.stage == "discovery" and not reply.skus:
            CONVERSATION_STAGE.labels("discovery").inc()
        return await self._render(chat, reply, model=answer.source == "model")

    async def _render(self, chat: Chat, reply: AgentReply, *, model: bool) -> list[Reply]:
        """The agent's reply as messages: every card, price and stock line from the database."""
        session = chat.session
        if reply.options:
            cards = [c for c in [await self._cards(s) for s in reply.options] if c and c.active]
            if cards:
                session.selected_skus = [c.sku for c in cards]
                rows = [
                    [(f"{c.name} — {format_uah(c.price)}", callbacks.show(c.sku))] for c in cards
                ]
                rows.append([("👩‍💼 Менеджер", callbacks.MANAGER)])  # none of these: a person
                return [Reply(reply.text, buttons=buttons(*rows))]
        card = await self._cards(reply.skus[0]) if reply.skus else None
        if card is None or not card.active or reply.topics:
            return [Reply(reply.text)]
        current = session.selected_skus[0] if session.selected_skus else None
        session.selected_skus = [card.sku]
        if reply.intent == "order":
            return await self._order(chat, card, reply.size, reply.colour)
        if reply.intent == "stock":
            return [Reply(reply.text, buttons=self._stock_buttons(card, reply))]
        if reply.card or card.sku != current:
            enter(session, "identified", funnel="identified")
            # The model's words go before the card; the offline agent's price line is on it.
            if model and reply.text:
                return [Reply(reply.text), await self._card(card)]
            if reply.text and (reply.size or reply.colour):  # the variant named: its stock too
                stock = Reply(reply.text, buttons=self._stock_buttons(card, reply))
                return [await self._card(card), stock]
            return [await self._card(card)]
        return [Reply(reply.text)]

    @staticmethod
    def _stock_buttons(card: Product, reply: AgentReply) -> tuple[tuple[Button, ...], ...]:
        size, colour = reply.size, reply.colour
        if (
            size
            and colour
            and any(
                v.size == size and v.colour == colour and v.available > 0 for v in card.variants
            )
        ):
            return buttons(
                [(f"🛒 Замовити: {colour}, {size}", callbacks.reserve(card.sku, size, colour))]
            )
        if sizes_in_stock(card):
            return buttons([("🛒 Замовити", callbacks.choose_size(card.sku))])
        return buttons([("👩‍💼 Менеджер", callbacks.MANAGER)])

    async def _order(
        self, chat: Chat, card: Product, size: str | None, colour: str | None
    ) -> list[Reply]:
        """Buying `card`: straight to the step the customer's words leave open."""
        checkout = self._checkout
        if size is None:
            return await checkout.choose_size(chat, card.sku)
        available = {(v.size, v.colour) for v in card.variants if v.available > 0}
        if colour is None or (size, colour) not in available:
            return await checkout.choose_colour(chat, card.sku, size)
        return await checkout.reserve_variant(chat, card, size, colour)

    async def _card(self, card: Product, note: str | None = None) -> Reply:
        body = f"{card.name}\nЦіна: {format_uah(card.price)}\n{stock_line(card)}"
        # A note that starts with the name is the offline agent's summary of this same card.
        if note and not note.startswith(card.name):
            body = f"{body}\n\n{note}"
        rows = [[("🛒 Замовити", callbacks.choose_size(card.sku))]] if sizes_in_stock(card) else []
        rows.append([("👩‍💼 Менеджер", callbacks.MANAGER)])
        return Reply(body, photo=await self._photo(card.sku), buttons=buttons(*rows))

    async def _show(self, chat: Chat, sku: str) -> list[Reply]:
        card = await self._cards(sku)
        if card is None or not card.active:
            return [Reply("Цей товар більше не продається. Надішліть фото іншої речі.")]
        chat.session.selected_skus = [sku]
        enter(chat.session, "identified", funnel="identified")
        return [await self._card(card)]

    async def _identify(self, chat: Chat, images: list[bytes], caption: str | None) -> list[Reply]:
        best = None
        for image in images[:MAX_PHOTOS_PER_REQUEST]:  # an album: the first clear answer wins
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
            return await self._show(chat, best.sku)
        candidates = [best.sku] if best.sku else []
        candidates += [s for s in best.candidates if s not in candidates]
        cards = [c for c in [await self._cards(s) for s in candidates[:3]] if c and c.active]
        if cards and best.confidence >= self._settings.low_confidence:
            other = ("Ні, інше — покликати менеджера", callbacks.MANAGER)
            if len(cards) == 1:  # one candidate: its card, asked about, not a list of one
                [one] = cards
                chat.session.selected_skus = [one.sku]
                rows = [[("🛒 Так, замовити", callbacks.choose_size(one.sku))]]
                if not sizes_in_stock(one):
                    rows = [[("Так, це він", callbacks.show(one.sku))]]
                body = (
                    f"Схоже, це {one.name}. Так?\nЦіна: {format_uah(one.price)}\n{stock_line(one)}"
                )
                photo = await self._photo(one.sku)
                return [Reply(body, photo=photo, buttons=buttons(*rows, [other]))]
            photos = tuple(p for p in [await self._photo(c.sku) for c in cards] if p)
            rows = [[(f"{c.name} — {format_uah(c.price)}", callbacks.show(c.sku))] for c in cards]
            rows.append([other])
            album = photos if len(photos) >= 2 else ()  # an album needs two photos
            return [Reply("Це один із цих товарів?", buttons=buttons(*rows), album=album)]
        # The model's own words: no price or promise of its making reaches the customer.
        question = guard_model_text(best.question, cards)[0] if best.question else ""
        question = SECRETS.strip(question)[0]
        if question:
            return [Reply(question, buttons=buttons([("👩‍💼 Менеджер", callbacks.MANAGER)]))]
        return await self._handoff(
            chat,
            "L1",
            "unsure",
            "фото не впізнано",
            photo=images[0],
            candidates=[c.sku for c in cards],
        )

    async def _handoff(
        self,
        chat: Chat,
        level: str,
        reason: str,
        why: str,
        *,
        photo: bytes | None = None,
        candidates: list[str] | None = None,
    ) -> list[Reply]:
        """Hand the chat to a person: recorded in Postgres, posted to the manager chat."""
        ESCALATIONS.labels(level, reason).inc()
        customer = chat.customer
        history = "\n".join(
            f"{'👤' if t.role == 'customer' else '🤖'} {t.text}" for t in chat.session.turns[-6:]
        )
        who = f"@{customer.username}" if customer.username else customer.name
        extra = f"\nКандидати: {', '.join(candidates)}" if candidates else ""
        if chat.session.selected_skus:
            extra += f"\nТовар у розмові: {chat.session.selected_skus[0]}"
        if chat.draft is not None:
            extra += f"\nЗамовлення в роботі: {chat.draft.number}"
        summary = (
            f"🆘 Передача розмови ({level}, {reason}) — {who}\nПричина: {why}{extra}\n\n"
            f"{history}\n\nВідповідайте реплаєм на це повідомлення; /bot — повернути боту."
        )
        opened = await self._handoffs.open(chat.chat_id, level, reason, summary)
        if not self.staffed:
            # Nobody reads a manager chat: recorded and closed at once, so the bot answers on.
            if opened:
                await self._handoffs.close(chat.chat_id, NO_MANAGER_CHAT)
            logger.warning("hand-off in chat %s with no KRAMAR_MANAGER_CHAT_ID", chat.chat_id)
            shop = await self._shop() if self._shop is not None else None
            contacts = shop_texts.reach_line(shop) or self._settings.shop_contacts
            return [Reply(reach_the_shop(contacts))]
        chat.handed_off = True
        if not opened:  # already with the managers: no second page
            return [Reply(WITH_MANAGER)]
        return [
            Reply(HANDED_OFF),
            Reply(
                summary,
                photo=photo,
                to_manager=True,
                about_chat=customer.chat_id,
                buttons=buttons([("🤖 Повернути боту", f"bot:{customer.chat_id}")]),
            ),
        ]
