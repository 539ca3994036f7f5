"""A bounded loopback load: simulated chats writing to the shop through the webhook, as
Telegram delivers them, and the checks that every update was answered once and in order.

Each chat is a script: questions about products by name, photos of catalog products, button
presses, and (for buyers) a whole purchase: photo, order, size, colour, contact, delivery,
city, confirmation. Telegram posts a chat's updates one after another and retries any that are
not acknowledged with a 200 (a 5xx, a refused connection, a timeout) with a growing pause; the
generator does the same, so it keeps running through the faults the tests inject. Only the
confirmation waits for the bot: its button carries the order id.

Answers are matched to updates by time, not by content: a chat's updates are processed one at
a time in `update_id` order and each is marked done (`processed_at`, Postgres' `now()`) after
its replies went out, so a reply recorded by the stand-in between the marks of the previous
update and of this one belongs to this one.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import text

from app.catalog.importer import load_catalog
from app.dialog.texts import HANDED_OFF, REJECTED_PHOTO
from tests.reliability.hostile import (
    BASE_PHOTO,
    CAPTION,
    FILES,
    INJECTIONS,
    INVALID,
    REFUSED,
    hostile_file,
    invalid_body,
)
from tests.reliability.stack import HEADERS

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from tests.servers.telegram import Sent, TelegramServer

CATALOG = Path(__file__).resolve().parents[2] / "data" / "catalog" / "products_master.yaml"
WEBHOOK = "/telegram/webhook"
FIRST_CHAT = 700_000


@dataclass(frozen=True)
class Step:
    kind: str
    """text, photo, press, contact, confirm (press the confirmation button of the summary), file
    or invalid (see `hostile`)."""
    value: str = ""
    expect: str | None = None
    """Text the answer must contain (a product's name), when one is known in advance."""
    avoid: str | None = None
    """Text the answer must not contain."""
    caption: str | None = None
    """A photo's caption."""
    hostile: bool = False
    """Tries to talk the bot into a price, its instructions or a secret (tests/reliability/
    hostile.py); kinds `file` (a hostile customer photo) and `invalid` (a body that is not an
    update, posted once, never answered) are hostile too."""


@dataclass
class Delivery:
    """One update as posted: what it was and how its acknowledgement went."""

    chat_id: int
    update_id: int
    step: Step
    attempts: int = 0
    ack_seconds: float = 0.0
    """Seconds the last attempt took, from sending the request to its response."""
    statuses: list[int | str] = field(default_factory=list)


def _catalog() -> list[Any]:
    items = load_catalog(CATALOG, max_catalog_bytes=20_000_000, max_photo_bytes=5_000_000)
    # Inactive products are not sold: asking for them is a different conversation.
    return [item.product for item in items if item.product.active]


@dataclass
class Plan:
    """The chats' scripts and what the database must hold once they have all run."""

    chats: list[list[Step]]
    reserved: Counter[tuple[str, str, str]]
    """Pieces each variant (sku, size, colour) must have reserved: one per buyer."""

    @property
    def buyers(self) -> int:
        return sum(self.reserved.values())

    @property
    def updates(self) -> int:
        """Updates to be stored and answered (the invalid ones are neither)."""
        return sum(1 for steps in self.chats for step in steps if step.kind != "invalid")


def plan(chats: int, per_chat: int, *, seed: int = 18, buyers: float = 0.3) -> Plan:
    """`chats` scripts of `per_chat` steps; about `buyers` of them buy something in stock.

    Buyers' variants are dealt from what is on hand, so every purchase can succeed and the
    reservations the database ends with are known."""
    rng = random.Random(seed)
    products = _catalog()
    # Names that name one product only (none inside another's, e.g. Мрія and Мрія лайт).
    names = [p for p in products if not any(p.name in q.name for q in products if q is not p)]
    photographed = [p for p in products if p.photos]
    left = {(p.sku, s.size, s.colour): s.qty for p in products for s in p.stock if s.qty}
    by_sku = {p.sku: p for p in products}
    reserved: Counter[tuple[str, str, str]] = Counter()
    out: list[list[Step]] = []
    for index in range(chats):
        steps: list[Step] = []
        in_stock = sorted(k for k, v in left.items() if v)
        if per_chat >= 9 and in_stock and rng.random() < buyers:
            sku, size, colour = rng.choice(in_stock)
            left[(sku, size, colour)] -= 1
            reserved[(sku, size, colour)] += 1
            product = by_sku[sku]
            steps += [
                Step("photo", product.photos[0]) if product.photos else Step("text", product.name),
                Step("press", f"o:{sku}"),
                Step("press", f"s:{sku}:{size}"),
                Step("press", f"c:{sku}:{size}:{colour}"),
                Step("contact", f"+38067{index % 10_000_000:07d}"),
                Step("press", "d:np"),
                Step("text", "Київ відділення №25"),
                Step("confirm"),
            ]
        while len(steps) < per_chat:
            roll = rng.random()
            if roll < 0.5:
                product = rng.choice(names)
                steps.append(Step("text", f"скільки коштує {product.name}?"))
            elif roll < 0.65:
                steps.append(Step("photo", rng.choice(photographed).photos[0]))
            else:
                # The answer names the product whatever the search would have found: the
                # probe that a chat's answers come in the order of its updates.
                product = rng.choice(products)
                steps.append(Step("press", f"o:{product.sku}", expect=product.name))
        out.append(steps)
    return Plan(out, reserved)


def hostile_steps() -> list[Step]:
    """One of each hostile input (tests/reliability/hostile.py) as load steps."""
    out = [
        Step(
            "file",
            name,
            expect=REJECTED_PHOTO if name in REFUSED else None,
            avoid=None if name in REFUSED else REJECTED_PHOTO,
        )
        for name in FILES
    ]
    out += [Step("text", attack, hostile=True) for attack in INJECTIONS]
    out.append(Step("photo", BASE_PHOTO, caption=CAPTION, hostile=True))
    out += [Step("invalid", name) for name in INVALID]
    return out


def with_hostile(base: Plan, *, seed: int = 18) -> Plan:
    """`base` with every hostile step dealt into its chats at random places; a buyer's only
    after its purchase is confirmed (a text mid-checkout would be read as the answer asked for)."""
    rng = random.Random(seed)
    chats = [list(c) for c in base.chats]
    for step in hostile_steps():
        script = rng.choice(chats)
        after = max((i + 1 for i, s in enumerate(script) if s.kind == "confirm"), default=0)
        script.insert(rng.randint(after, len(script)), step)
    return Plan(chats, base.reserved)


class Telegram:
    """Delivers updates as Telegram does: one at a time per chat, retried until acknowledged."""

    def __init__(self, stand_in: TelegramServer, base: str, *, connections: int = 40) -> None:
        """`connections`: deliveries in flight at most (Telegram's default `max_connections`)."""
        self.stand_in = stand_in
        self.base = base
        self.connections = connections
        self.deliveries: list[Delivery] = []
        self._photos: dict[str, list[Any]] = {}
        self._callbacks = 0
        self._update_id = 1_000_000
        self.confirm_timeout = 120.0
        self._slots = asyncio.Semaphore(connections)
        self._marks: list[tuple[int, asyncio.Event]] = []
        self.invalid: list[tuple[str, int | str, str]] = []
        """(body's name, status, detail) of each invalid body posted."""

    async def posted(self, count: int) -> None:
        """Until `count` updates have been posted (a fault test's cue)."""
        event = asyncio.Event()
        self._marks.append((count, event))
        self._mark()
        await event.wait()

    def _mark(self) -> None:
        for count, event in self._marks:
            if len(self.deliveries) >= count:
                event.set()

    def _next_update_id(self) -> int:
        self._update_id += 1
        return self._update_id

    def _photo(self, path: str) -> list[Any]:
        if path not in self._photos:
            content = (CATALOG.parent / path).read_bytes()
            self._photos[path] = self.stand_in.photo_sizes(content)
        return self._photos[path]

    def _message(self, chat_id: int, **fields: Any) -> dict[str, Any]:
        update = self.stand_in.message_update(chat_id)
        update["update_id"] = self._next_update_id()
        update["message"].update(fields)
        return update

    def _press(self, chat_id: int, data: str) -> dict[str, Any]:
        self._callbacks += 1
        return {
            "update_id": self._next_update_id(),
            "callback_query": {
                "id": f"cb-{self._callbacks}",
                "from": {"id": chat_id, "is_bot": False, "first_name": "Олена"},
                "chat_instance": "ci",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private"},
                    "text": "…",
                },
            },
        }

    async def _confirmation(self, chat_id: int) -> str | None:
        """The `ok:<order>` button of the order summary, once the bot has sent it."""
        deadline = time.monotonic() + self.confirm_timeout
        while time.monotonic() < deadline:
            for sent in reversed(self.stand_in.sent(chat_id)):
                for row in (sent.reply_markup or {}).get("inline_keyboard", []):
                    for button in row:
                        if str(button.get("callback_data", "")).startswith("ok:"):
                            return str(button["callback_data"])
            await asyncio.sleep(0.2)
        return None

    async def _update(self, chat_id: int, step: Step) -> dict[str, Any] | None:
        if step.kind == "text":
            return self._message(chat_id, text=step.value)
        if step.kind == "photo":
            caption = {} if step.caption is None else {"caption": step.caption}
            return self._message(chat_id, photo=self._photo(step.value), **caption)
        if step.kind == "file":
            bad = hostile_file(step.value)
            stored = self.stand_in.add_file(bad.content, declared_size=bad.declared_size)
            return self._message(chat_id, photo=[stored.photo_size()])
        if step.kind == "contact":
            contact = {"phone_number": step.value, "first_name": "Олена", "user_id": chat_id}
            return self._message(chat_id, contact=contact)
        if step.kind == "confirm":
            data = await self._confirmation(chat_id)
            return None if data is None else self._press(chat_id, data)
        return self._press(chat_id, step.value)

    async def _post(
        self, client: httpx.AsyncClient, delivery: Delivery, body: dict[str, Any]
    ) -> None:
        pause = 0.1
        while True:
            delivery.attempts += 1
            # Telegram holds at most `max_connections` deliveries open; the time waited for
            # one of them is Telegram's queue, not the webhook's latency.
            async with self._slots:
                started = time.perf_counter()
                try:
                    response = await client.post(WEBHOOK, json=body, headers=HEADERS)
                    status: int | str = response.status_code
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                delivery.ack_seconds = time.perf_counter() - started
            delivery.statuses.append(status)
            if status == 200:
                return
            # Telegram backs off between redeliveries; shortened here so a run stays short.
            await asyncio.sleep(pause)
            pause = min(pause * 2, 2.0)

    async def _post_invalid(self, client: httpx.AsyncClient, chat_id: int, name: str) -> None:
        """Once: a body that is not an update is refused for good, never redelivered."""
        body = invalid_body(name, chat_id, self._next_update_id())
        async with self._slots:
            try:
                response = await client.post(WEBHOOK, content=body, headers=HEADERS)
                status: int | str = response.status_code
                detail = response.text[:200]
            except httpx.HTTPError as exc:
                status, detail = type(exc).__name__, str(exc)
        self.invalid.append((name, status, detail))

    async def run(
        self,
        chats: list[list[Step]],
        *,
        first_chat: int = FIRST_CHAT,
        rate: float | None = None,
        concurrent: int | None = None,
    ) -> None:
        """Play the chats' scripts, `connections` requests in flight at most.

        All chats at once (a burst) by default; `rate`: new updates per second at most, evenly
        spaced (steady traffic); `concurrent`: chats talking at a time, the next one starting
        when one has finished its script."""
        limits = httpx.Limits(
            max_connections=self.connections, max_keepalive_connections=self.connections
        )
        talking = asyncio.Semaphore(concurrent or len(chats) or 1)
        loop = asyncio.get_running_loop()
        next_slot = loop.time()

        async def pace() -> None:
            nonlocal next_slot
            if rate is None:
                return
            now = loop.time()
            slot = max(next_slot, now)
            next_slot = slot + 1 / rate
            await asyncio.sleep(slot - now)

        async with httpx.AsyncClient(base_url=self.base, limits=limits, timeout=10) as client:

            async def chat(index: int, steps: list[Step]) -> None:
                chat_id = first_chat + index
                async with talking:
                    for step in steps:
                        await pace()
                        if step.kind == "invalid":
                            await self._post_invalid(client, chat_id, step.value)
                            continue
                        body = await self._update(chat_id, step)
                        if body is None:
                            continue  # the summary never came: counted by the checks
                        delivery = Delivery(chat_id, int(body["update_id"]), step)
                        self.deliveries.append(delivery)
                        self._mark()
                        await self._post(client, delivery, body)

            await asyncio.gather(*(chat(i, steps) for i, steps in enumerate(chats)))


@dataclass
class Outcome:
    """What the run ended with, read from Postgres and the stand-in."""

    sent: int
    planned: int
    processed: int
    unanswered: list[int]
    with_manager: int
    """Updates of chats handed off to a manager, answered from the managers' chat."""
    duplicated: list[int]
    """Answered twice though taken once: a bug, whatever happened around it."""
    resent_after_crash: list[int]
    """Answered twice after being taken again: the process died between sending the replies
    and marking the update done, so the turn ran again (at-least-once replies)."""
    out_of_order: list[int]
    wrong_answer: list[int]
    not_done: dict[str, int]
    taken_again: int
    """Updates a worker took more than once (a lease ran out: its process died)."""
    ack: list[float]
    answer: list[float]
    """Seconds from the webhook storing an update to its turn done (replies sent)."""
    retries: int
    orders: dict[str, int]
    """Orders by status."""
    buyers: int
    reservation_mismatch: list[tuple[Any, ...]]
    """(variant, reserved in the database, reserved by the plan) where they differ."""
    orders_per_chat_over_one: list[int]
    notes: list[str] = field(default_factory=list)
    """The first failures in detail."""
    replies: dict[int, list[Sent]] = field(default_factory=dict)
    """The replies matched to each update."""

    def table(self) -> str:
        """The run as the issue's closing table asks for it."""

        def ms(samples: list[float], q: float) -> str:
            return f"{quantile(samples, q) * 1e3:.0f} ms" if samples else "-"

        rows = [
            ("updates planned / sent", f"{self.planned} / {self.sent}"),
            ("updates processed", self.processed),
            ("unanswered", len(self.unanswered)),
            ("with a manager (after a hand-off)", self.with_manager),
            ("answered twice", len(self.duplicated)),
            ("re-sent after a crash", len(self.resent_after_crash)),
            ("out of order", len(self.out_of_order)),
            ("answer about another product", len(self.wrong_answer)),
            ("not done (by status)", self.not_done or 0),
            ("updates taken more than once", self.taken_again),
            ("webhook redeliveries", self.retries),
            ("orders by status / buyers", f"{self.orders} / {self.buyers}"),
            ("reserved != plan (variants)", len(self.reservation_mismatch)),
            ("ack p50 / p99", f"{ms(self.ack, 0.5)} / {ms(self.ack, 0.99)}"),
            ("answer p50 / p99", f"{ms(self.answer, 0.5)} / {ms(self.answer, 0.99)}"),
        ]
        return "\n".join(f"{name:<32} {value}" for name, value in rows)

    def assert_clean(self, *, resent_after_crash: int = 0) -> None:
        """Every update answered once, in order, about what was asked; orders and stock exact.

        `resent_after_crash`: how many updates may have been answered again after their
        process was killed between sending and marking them done."""
        report = self.table() + "\n" + "\n".join(self.notes[:10])
        assert self.sent == self.planned, report
        assert self.processed == self.sent, report
        assert not self.unanswered, f"unanswered {self.unanswered[:20]}\n{report}"
        assert not self.duplicated, f"answered twice {self.duplicated[:20]}\n{report}"
        assert len(self.resent_after_crash) <= resent_after_crash, report
        assert not self.out_of_order, f"out of order {self.out_of_order[:20]}\n{report}"
        assert not self.wrong_answer, f"wrong answer {self.wrong_answer[:20]}\n{report}"
        assert not self.not_done, report
        assert self.orders.get("new", 0) == self.buyers and not self.orders.get("draft"), report
        assert not self.orders_per_chat_over_one, report
        assert not self.reservation_mismatch, f"{self.reservation_mismatch}\n{report}"


def quantile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def wait_drained(engine: AsyncEngine, expected: int, seconds: float) -> None:
    """Until every stored update is finished (done or dead), or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            async with engine.connect() as conn:
                pending, total = (
                    await conn.execute(
                        text(
                            "SELECT count(*) FILTER (WHERE status = 'pending'), count(*)"
                            " FROM telegram_inbox"
                        )
                    )
                ).one()
            if pending == 0 and total >= expected:
                await asyncio.sleep(1.0)  # a reply still on its way to the stand-in
                return
        except OSError:
            pass  # the database is being restarted by the test
        await asyncio.sleep(0.25)


async def outcome(engine: AsyncEngine, tg: Telegram, expected: Plan) -> Outcome:
    """Match every reply to the update it answers and check the database's orders and stock."""
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT update_id, chat_key, status, attempts,"
                    " extract(epoch FROM processed_at), extract(epoch FROM received_at)"
                    " FROM telegram_inbox ORDER BY chat_key, update_id"
                )
            )
        ).all()
        statuses: dict[str, int] = dict(
            (await conn.execute(text("SELECT status, count(*) FROM orders GROUP BY status"))).all()
        )
        per_chat = (
            (
                await conn.execute(
                    text(
                        "SELECT chat_id FROM orders WHERE status <> 'cancelled'"
                        " GROUP BY chat_id HAVING count(*) > 1"
                    )
                )
            )
            .scalars()
            .all()
        )
        # Reserved is what open order lines hold (the view computes it, nothing stores it).
        stock = (
            await conn.execute(
                text(
                    "SELECT p.sku, v.size, v.colour, s.reserved, s.on_hand FROM variant_stock s"
                    " JOIN product_variants v ON v.id = s.variant_id"
                    " JOIN products p ON p.id = v.product_id"
                    " WHERE s.reserved > 0"
                )
            )
        ).all()
    reserved = {(sku, size, colour): int(r) for sku, size, colour, r, _ in stock}
    mismatch = sorted(
        (key, reserved.get(key, 0), expected.reserved.get(key, 0))
        for key in set(reserved) | set(expected.reserved)
        if reserved.get(key, 0) != expected.reserved.get(key, 0)
    )
    deliveries = {d.update_id: d for d in tg.deliveries}
    by_chat: dict[int, list[tuple[int, float]]] = defaultdict(list)
    not_done: Counter[str] = Counter()
    answer: list[float] = []
    taken: dict[int, int] = {}
    for update_id, chat_key, status, _attempts, processed, received in rows:
        if update_id not in deliveries:
            continue
        by_chat[chat_key].append((update_id, float(processed or 0)))
        taken[update_id] = int(_attempts)
        if status != "done":
            not_done[status] += 1
        elif processed is not None:
            answer.append(float(processed) - float(received))
    unanswered: list[int] = []
    duplicated: list[int] = []
    out_of_order: list[int] = []
    wrong: list[int] = []
    resent: list[int] = []
    notes: list[str] = []
    matched: dict[int, list[Sent]] = {}
    with_manager = 0
    for chat_id, updates in by_chat.items():
        replies = sorted(tg.stand_in.sent(chat_id), key=lambda s: s.wall)
        previous = 0.0
        handed = False
        for update_id, processed in updates:
            if processed and processed < previous:
                out_of_order.append(update_id)
            mine = [r for r in replies if previous < r.wall <= processed]
            matched[update_id] = mine
            previous = max(previous, processed)
            handed = handed or any(r.text == HANDED_OFF for r in mine)
            if not mine and handed:
                # With a manager: the message goes to the managers' chat, the customer hears
                # "a manager is on it" now and then only.
                with_manager += 1
                continue
            if not mine:
                unanswered.append(update_id)
                notes.append(_note(update_id, deliveries[update_id], processed, replies))
                continue
            if _doubled(mine) and taken[update_id] > 1:
                resent.append(update_id)  # its worker died after sending, before marking done
            elif _doubled(mine):
                duplicated.append(update_id)
                notes.append(_note(update_id, deliveries[update_id], processed, replies))
            expect, avoid = deliveries[update_id].step.expect, deliveries[update_id].step.avoid
            if handed:
                # With a manager the bot only says so ("a manager is on it"): no product card.
                expect = None
            if (expect and not any(expect in (r.visible or "") for r in mine)) or (
                avoid and any(avoid in (r.visible or "") for r in mine)
            ):
                wrong.append(update_id)
                notes.append(_note(update_id, deliveries[update_id], processed, replies))
    return Outcome(
        sent=len(deliveries),
        planned=expected.updates,
        processed=sum(len(u) for u in by_chat.values()),
        unanswered=unanswered,
        with_manager=with_manager,
        duplicated=duplicated,
        resent_after_crash=resent,
        out_of_order=out_of_order,
        wrong_answer=wrong,
        not_done=dict(not_done),
        taken_again=sum(1 for r in rows if r[0] in deliveries and r[3] > 1),
        ack=[d.ack_seconds for d in tg.deliveries],
        answer=answer,
        retries=sum(d.attempts - 1 for d in tg.deliveries),
        orders={str(k): int(v) for k, v in statuses.items()},
        buyers=expected.buyers,
        reservation_mismatch=mismatch,
        orders_per_chat_over_one=[int(c) for c in per_chat],
        notes=notes,
        replies=matched,
    )


def _note(update_id: int, delivery: Delivery, processed: float, replies: list[Sent]) -> str:
    """An update that failed a check, with the chat's replies around it (for the message)."""
    near = [
        f"  {r.wall - processed:+.3f} s {r.method} {(r.visible or '')[:60]!r}"
        for r in replies
        if abs(r.wall - processed) < 5
    ]
    return "\n".join([f"{update_id} {delivery.step}", *near])


def _doubled(replies: list[Sent]) -> bool:
    """The same message (method, text, buttons) sent twice for one update."""
    seen = Counter(
        (r.method, r.text, repr(r.reply_markup)) for r in replies if not r.method.startswith("edit")
    )
    return any(count > 1 for count in seen.values())
