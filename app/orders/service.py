"""Order business rules: checkout drafts that reserve stock atomically, and the status workflow.

Every method is one database transaction of its own, so one `OrderService` may serve many
concurrent callers. A reservation *is* an order line of an open order (`app.catalog.stock`):
nothing else is written, so cancelling or expiring gives the pieces back by construction, and a
crash can never leave stock taken without an order that holds it. Reserving locks the variant's
row first, so two customers can never both take the last piece. Shipping takes the pieces off
on hand, in the transaction of the status change.

Order lines and status changes bump the catalog version through triggers (migration 0009):
caches then reload cards with the true availability.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import raiseload

from app.catalog import stock
from app.catalog.errors import ProductNotFoundError, VariantNotFoundError
from app.catalog.models import Product, Variant
from app.observability.metrics import ORDERS
from app.orders import schemas
from app.orders.errors import (
    IllegalTransitionError,
    IncompleteOrderError,
    InvalidOrderDataError,
    OrderNotEditableError,
    OrderNotFoundError,
    ReservationExpiredError,
    SoldOutError,
)
from app.orders.models import NUMBER_PREFIX, Order, OrderEvent, OrderLine
from app.orders.phone import normalize_phone
from app.orders.status import EDITABLE, DeliveryMethod, OrderStatus, can_change

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    from sqlalchemy import ColumnElement, Row
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)

EXPIRY_ACTOR = "system:expiry"
# Drafts cancelled per transaction by the expiry job: short transactions keep locks brief.
EXPIRY_BATCH = 200
MAX_QTY = 100


def customer(chat_id: int) -> str:
    """The actor name of a customer in events."""
    return f"customer:{chat_id}"


def manager(user_id: int) -> str:
    """The actor name of a manager (their Telegram user id) in events."""
    return f"manager:{user_id}"


def scoped_key(scope: str, key: str | None) -> str | None:
    """`key` within `scope` (a chat or an order), as stored.

    Callers key effects by the Telegram update id, which is unique per bot only until Telegram
    starts again from a random id after a week without updates: scoped, an old key of another
    chat can never hand one customer another's order.
    """
    return None if key is None else f"{scope}/{key}"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def to_schema(order: Order) -> schemas.Order:
    """The order as the API and the bot show it."""
    return schemas.Order(
        id=order.id,
        number=order.number,
        chat_id=order.chat_id,
        status=OrderStatus(order.status),
        customer_name=order.customer_name,
        total=order.total,
        created_at=order.created_at,
        updated_at=order.updated_at,
        phone=order.phone,
        delivery_method=None
        if order.delivery_method is None
        else DeliveryMethod(order.delivery_method),
        city=order.city,
        branch=order.branch,
        address=order.address,
        reserved_until=order.reserved_until,
        lines=[
            schemas.OrderLine(
                sku=line.sku,
                name=line.name,
                size=line.size,
                colour=line.colour,
                qty=line.qty,
                unit_price=line.unit_price,
                line_total=line.unit_price * line.qty,
            )
            for line in order.lines
        ],
        events=[
            schemas.OrderEvent(
                from_status=None if e.from_status is None else OrderStatus(e.from_status),
                to_status=OrderStatus(e.to_status),
                actor=e.actor,
                note=e.note,
                at=e.at,
            )
            for e in order.events
        ],
    )


async def take_off_hand(session: AsyncSession, pieces: Mapping[int, int]) -> None:
    """Take `pieces[variant_id]` off each variant's on hand: the goods have left the shop.

    Never below 0: on hand may already have been set below what orders held (the managers were
    told then), and the shipment happened all the same. Rows are locked in id order first, the
    order every stock writer locks in (`app.catalog.stock.lock`), so none deadlocks another.
    """
    changes = {variant_id: qty for variant_id, qty in pieces.items() if qty}
    if not changes:
        return
    ids = sorted(changes)
    await session.execute(
        select(Variant.id).where(Variant.id.in_(ids)).order_by(Variant.id).with_for_update()
    )
    await session.execute(
        update(Variant)
        .where(Variant.id.in_(ids))
        .values(on_hand=func.greatest(Variant.on_hand - case(changes, value=Variant.id), 0))
        .execution_options(synchronize_session=False)
    )


def _pieces(order: Order) -> dict[int, int]:
    """Pieces per variant on the order's lines."""
    pieces: dict[int, int] = {}
    for line in order.lines:
        if line.variant_id is not None:
            pieces[line.variant_id] = pieces.get(line.variant_id, 0) + line.qty
    return pieces


def _missing_for_confirm(order: Order) -> list[str]:
    missing = []
    if not order.lines:
        missing.append("an item")
    if not order.customer_name:
        missing.append("the name")
    if not order.phone:
        missing.append("the phone")
    if order.delivery_method is None or not order.city:
        missing.append("the delivery")
    elif order.delivery_method == DeliveryMethod.NOVA_POSHTA and not order.branch:
        missing.append("the Nova Poshta branch")
    elif order.delivery_method == DeliveryMethod.COURIER and not order.address:
        missing.append("the address")
    return missing


def _conditions(status: OrderStatus | None, query: str | None) -> list[ColumnElement[bool]]:
    """Filters of an order list: the status, and each word of `query` as a number, a part of
    the customer's name or of the phone's digits."""
    conditions: list[ColumnElement[bool]] = [] if status is None else [Order.status == status]
    for word in (query or "").split()[:5]:
        number = word.upper().removeprefix(NUMBER_PREFIX)
        either: list[ColumnElement[bool]] = [Order.customer_name.icontains(word, autoescape=True)]
        digits = "".join(c for c in word if c.isdigit())
        if digits:
            either.append(Order.phone.contains(digits, autoescape=True))
        if number.isdigit() and len(number) <= 18:
            either.append(Order.id == int(number))
        conditions.append(or_(*either))
    return conditions


def _clean(value: str | None, field: str, max_length: int) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if not value:
        return None
    if len(value) > max_length:
        raise InvalidOrderDataError(f"{field} is too long: at most {max_length} characters")
    return value


class OrderService:
    """Creates and moves orders. Stateless between calls: every method is its own transaction.

    `reservation_minutes` is how long a draft holds its stock (`settings.orders`); `clock` is
    there for tests.
    """

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        *,
        reservation_minutes: int = 30,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._session_factory = session_factory
        self.reservation = timedelta(minutes=reservation_minutes)
        self._clock = clock

    # Reading ------------------------------------------------------------------------------------

    async def get(self, order_id: int) -> schemas.Order:
        async with self._session_factory() as session:
            order = await session.get(Order, order_id)
            if order is None:
                raise OrderNotFoundError(order_id)
            return to_schema(order)

    async def draft_for(self, chat_id: int) -> schemas.Order | None:
        """The chat's order in checkout, if any."""
        async with self._session_factory() as session:
            order = await session.scalar(
                select(Order).where(Order.chat_id == chat_id, Order.status == OrderStatus.DRAFT)
            )
            return None if order is None else to_schema(order)

    async def list_orders(
        self,
        status: OrderStatus | None = None,
        *,
        query: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> schemas.OrderPage:
        """Orders, newest first; `query` finds a number (KR-000123 or 123), a name or a phone."""
        conditions = _conditions(status, query)
        async with self._session_factory() as session:
            total = await session.scalar(select(func.count(Order.id)).where(*conditions)) or 0
            orders = await session.scalars(
                select(Order)
                .where(*conditions)
                .order_by(Order.id.desc())
                .limit(limit)
                .offset(offset)
                .options(raiseload(Order.lines), raiseload(Order.events))
            )
            items = [
                schemas.OrderSummary(
                    id=o.id,
                    number=o.number,
                    chat_id=o.chat_id,
                    status=OrderStatus(o.status),
                    customer_name=o.customer_name,
                    total=o.total,
                    created_at=o.created_at,
                    updated_at=o.updated_at,
                )
                for o in orders
            ]
        return schemas.OrderPage(items=items, total=total, limit=limit, offset=offset)

    async def export(
        self, status: OrderStatus | None = None, *, query: str | None = None, limit: int = 10_000
    ) -> list[schemas.Order]:
        """Orders with their lines, newest first, as `list_orders` filters them (CSV export)."""
        async with self._session_factory() as session:
            orders = await session.scalars(
                select(Order)
                .where(*_conditions(status, query))
                .order_by(Order.id.desc())
                .limit(limit)
            )
            return [to_schema(order) for order in orders]

    # Checkout -----------------------------------------------------------------------------------

    async def start_order(
        self,
        chat_id: int,
        sku: str,
        size: str,
        colour: str,
        qty: int = 1,
        idempotency_key: str | None = None,
    ) -> schemas.Order:
        """A draft with this one item, reserved until now + the reservation time.

        If the chat already has a draft, its item is replaced in the same transaction (the old
        line's pieces are free again at commit), so on `SoldOutError` the old reservation
        stands. The price is read from the catalog here, never taken from a caller.
        A repeated `idempotency_key` of this chat (a redelivered update) returns the order it
        made, and reserves nothing again. Raises `SoldOutError`, or the catalog's
        `ProductNotFoundError` or `VariantNotFoundError`.
        """
        if not 1 <= qty <= MAX_QTY:
            raise InvalidOrderDataError(f"quantity must be between 1 and {MAX_QTY}")
        # A unique index breaks a race with a concurrent call for the same chat or key: the
        # loser rolls back and tries once more, and then finds the winner's draft or key.
        for attempt in (1, 2):
            try:
                return await self._start_order(
                    chat_id, sku, size, colour, qty, scoped_key(f"chat:{chat_id}", idempotency_key)
                )
            except IntegrityError:
                if attempt == 2:
                    raise
                logger.info("concurrent checkout in chat %s; retrying once", chat_id)
        raise AssertionError("unreachable")

    async def _start_order(
        self, chat_id: int, sku: str, size: str, colour: str, qty: int, key: str | None
    ) -> schemas.Order:
        async with self._session_factory() as session, session.begin():
            if key is not None and (done := await self._by_key(session, key)) is not None:
                return to_schema(done)
            draft = await session.scalar(
                select(Order)
                .where(Order.chat_id == chat_id, Order.status == OrderStatus.DRAFT)
                .with_for_update()
            )
            available = stock.variant_stock.c
            rows = (
                await session.execute(
                    select(
                        Variant.id,
                        Variant.size,
                        Variant.colour,
                        Product.name,
                        Product.price,
                        available.on_hand,
                        available.reserved,
                    )
                    .join(Product)
                    .join(stock.variant_stock, available.variant_id == Variant.id)
                    .where(Product.sku == sku, Product.active.is_(True))
                    .order_by(Variant.id)
                )
            ).all()
            # casefold in Python: Postgres lower() depends on the database's locale.
            chosen = next(
                (
                    row
                    for row in rows
                    if row.size.casefold() == size.strip().casefold()
                    and row.colour.casefold() == colour.strip().casefold()
                ),
                None,
            )
            if chosen is None:
                if not rows:
                    raise ProductNotFoundError(sku)
                raise VariantNotFoundError(sku, size, colour)

            # The draft's own line is replaced, so its pieces are free for this choice.
            own = 0 if draft is None else _pieces(draft).get(chosen.id, 0)

            def short(level: stock.Level | Row[Any]) -> bool:
                return level.on_hand - (level.reserved - own) < qty

            # Sold out as committed now: no lock needed. In a rush most customers end here,
            # without queueing for the row the winners hold.
            if short(chosen):
                raise SoldOutError(sku, chosen.size, chosen.colour, qty)
            # Then the row lock, and reserved counted again by a later statement: its snapshot
            # includes every reservation committed before the lock was granted. (Counting in
            # the locking statement would use the snapshot taken before the wait.)
            await session.execute(
                select(Variant.id).where(Variant.id == chosen.id).with_for_update()
            )
            if short((await stock.levels(session, [chosen.id])).get(chosen.id, stock.NO_LEVEL)):
                raise SoldOutError(sku, chosen.size, chosen.colour, qty)

            line = OrderLine(
                variant_id=chosen.id,
                sku=sku,
                name=chosen.name,
                size=chosen.size,
                colour=chosen.colour,
                qty=qty,
                unit_price=chosen.price,
            )
            if draft is None:
                order = Order(chat_id=chat_id, status=OrderStatus.DRAFT, idempotency_key=key)
                order.events.append(
                    OrderEvent(
                        from_status=None,
                        to_status=OrderStatus.DRAFT,
                        actor=customer(chat_id),
                        note=f"{sku} {chosen.size}/{chosen.colour} × {qty}",
                        idempotency_key=key,
                    )
                )
                session.add(order)
            else:
                order = draft
                before = ", ".join(f"{x.sku} {x.size}/{x.colour} × {x.qty}" for x in order.lines)
                order.lines.clear()
                order.events.append(
                    OrderEvent(
                        from_status=OrderStatus.DRAFT,
                        to_status=OrderStatus.DRAFT,
                        actor=customer(chat_id),
                        note=f"item changed from {before} to {sku} {chosen.size}/{chosen.colour}"
                        f" × {qty}",
                        idempotency_key=key,
                    )
                )
            order.lines.append(line)
            order.total = chosen.price * qty
            order.reserved_until = self._clock() + self.reservation
            await session.flush()
            return to_schema(order)

    async def set_contact(self, order_id: int, name: str, phone: str) -> schemas.Order:
        """Set the customer's name and phone (normalised; `InvalidPhoneError` if not Ukrainian)."""
        clean_name = _clean(name, "the name", 200)
        if clean_name is None:
            raise InvalidOrderDataError("the name is empty")
        normalized = normalize_phone(phone)
        async with self._session_factory() as session, session.begin():
            order = await self._editable(session, order_id)
            order.customer_name = clean_name
            order.phone = normalized
            await session.flush()
            return to_schema(order)

    async def set_delivery(
        self,
        order_id: int,
        method: DeliveryMethod | str,
        city: str,
        branch: str | None = None,
        address: str | None = None,
    ) -> schemas.Order:
        """Nova Poshta needs the city and a branch; courier delivery the city and an address."""
        try:
            chosen = DeliveryMethod(method)
        except ValueError:
            known = ", ".join(m.value for m in DeliveryMethod)
            raise InvalidOrderDataError(
                f"unknown delivery method {method!r}; use {known}"
            ) from None
        clean_city = _clean(city, "the city", 120)
        clean_branch = _clean(branch, "the branch", 200)
        clean_address = _clean(address, "the address", 300)
        if clean_city is None:
            raise InvalidOrderDataError("the city is empty")
        if chosen is DeliveryMethod.NOVA_POSHTA and clean_branch is None:
            raise InvalidOrderDataError("Nova Poshta delivery needs the branch number")
        if chosen is DeliveryMethod.COURIER and clean_address is None:
            raise InvalidOrderDataError("courier delivery needs the street address")
        async with self._session_factory() as session, session.begin():
            order = await self._editable(session, order_id)
            order.delivery_method = chosen
            order.city = clean_city
            # The other method's field is dropped so the manager never sees a stale one.
            order.branch = clean_branch if chosen is DeliveryMethod.NOVA_POSHTA else None
            order.address = clean_address if chosen is DeliveryMethod.COURIER else None
            await session.flush()
            return to_schema(order)

    async def confirm(
        self, order_id: int, actor: str, idempotency_key: str | None = None
    ) -> schemas.Order:
        """draft → new: the customer accepted the summary. Needs contact and delivery, and a
        reservation that has not lapsed (`ReservationExpiredError`: choose the item again)."""
        return await self.change_status(
            order_id, OrderStatus.NEW, actor, idempotency_key=idempotency_key
        )

    # Workflow -----------------------------------------------------------------------------------

    async def change_status(
        self,
        order_id: int,
        to: OrderStatus,
        actor: str,
        note: str | None = None,
        idempotency_key: str | None = None,
        only_from: Collection[OrderStatus] | None = None,
    ) -> schemas.Order:
        """Move the order to `to` if `TRANSITIONS` allows it, recording who did it.

        Cancelling releases the reservation by construction: the lines of a cancelled order are
        not open. Shipping takes the lines' pieces off on hand in the same transaction; since
        `shipped` is reached once, that happens exactly once. A repeated `idempotency_key` of
        this order returns the order unchanged.
        `only_from`: the statuses the caller's rule allows moving from, checked under the row
        lock (`IllegalTransitionError` otherwise).
        """
        key = scoped_key(f"order:{order_id}", idempotency_key)
        async with self._session_factory() as session, session.begin():
            if key is not None and (done := await self._by_key(session, key)) is not None:
                return to_schema(done)
            order = await self._locked(session, order_id)
            if only_from is not None and order.status not in only_from:
                raise IllegalTransitionError(order.number, order.status, to)
            self._apply(order, to, actor, note, key)
            if to is OrderStatus.SHIPPED:
                # Variant rows before the status change is flushed: its trigger takes the
                # catalog version row, which a reservation holding a variant row waits for.
                with session.no_autoflush:
                    await take_off_hand(session, _pieces(order))
            await session.flush()
            answer = to_schema(order)
        ORDERS.labels(status=to.value).inc()
        return answer

    async def cancel(
        self,
        order_id: int,
        actor: str,
        reason: str,
        *,
        only_from: Collection[OrderStatus] | None = None,
    ) -> schemas.Order:
        """Cancel the order, releasing its reservation; a second cancel is `IllegalTransitionError`,
        and so is one from a status outside `only_from`."""
        return await self.change_status(
            order_id, OrderStatus.CANCELLED, actor, note=reason, only_from=only_from
        )

    async def expire_reservations(self, now: datetime | None = None) -> int:
        """Cancel drafts whose reservation lapsed (their pieces are available again); how many.

        Safe to run from several replicas at once: each takes drafts with FOR UPDATE SKIP
        LOCKED, so a draft is expired by one of them, and none waits for another.
        """
        moment = now or self._clock()
        expired = 0
        while True:
            async with self._session_factory() as session, session.begin():
                drafts = list(
                    await session.scalars(
                        select(Order)
                        .where(Order.status == OrderStatus.DRAFT, Order.reserved_until <= moment)
                        .order_by(Order.id)
                        .limit(EXPIRY_BATCH)
                        .with_for_update(skip_locked=True)
                    )
                )
                for order in drafts:
                    self._apply(order, OrderStatus.CANCELLED, EXPIRY_ACTOR, "reservation expired")
            if drafts:
                ORDERS.labels(status=OrderStatus.CANCELLED.value).inc(len(drafts))
                logger.info("expired %d draft order(s)", len(drafts))
            expired += len(drafts)
            if len(drafts) < EXPIRY_BATCH:
                return expired

    # Internals ----------------------------------------------------------------------------------

    def _apply(
        self,
        order: Order,
        to: OrderStatus,
        actor: str,
        note: str | None = None,
        key: str | None = None,
    ) -> None:
        """Change the status in memory after checking the rules."""
        current = OrderStatus(order.status)
        if not can_change(current, to):
            raise IllegalTransitionError(order.number, current, to)
        if to is OrderStatus.NEW:
            missing = _missing_for_confirm(order)
            if missing:
                raise IncompleteOrderError(order.number, missing)
            if order.reserved_until is not None and order.reserved_until <= self._clock():
                raise ReservationExpiredError(order.number)
        if to is not OrderStatus.DRAFT:
            # Past the draft the stock is held until a person acts: nothing expires any more.
            order.reserved_until = None
        order.events.append(
            OrderEvent(
                from_status=current, to_status=to, actor=actor, note=note, idempotency_key=key
            )
        )
        order.status = to

    async def _by_key(self, session: AsyncSession, key: str) -> Order | None:
        """The order an earlier call with this idempotency key created or changed."""
        order_id = await session.scalar(
            select(OrderEvent.order_id).where(OrderEvent.idempotency_key == key)
        )
        return None if order_id is None else await session.get(Order, order_id)

    async def _locked(self, session: AsyncSession, order_id: int) -> Order:
        order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None:
            raise OrderNotFoundError(order_id)
        return order

    async def _editable(self, session: AsyncSession, order_id: int) -> Order:
        order = await self._locked(session, order_id)
        if order.status not in EDITABLE:
            raise OrderNotEditableError(order.number, order.status)
        return order
