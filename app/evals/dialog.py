"""Dialogue suite: scripted conversations through the real dispatcher, as `kramar chat` runs
them (real aiogram updates, handlers, conversation, orders), each in a chat of its own; the
outcome is read from the replies and from the database (orders, order lines, hand-offs)."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.bot.terminal import TerminalChat
from app.catalog.models import Product as Model
from app.dialog.models import Handoff
from app.dialog.render import NBSP, format_uah
from app.evals.results import Item, Verdict, run_cases
from app.orders.models import Order

if TYPE_CHECKING:
    from pathlib import Path

    from app.catalog.schemas import Product
    from app.evals.dataset import Dialogue, Expect, Outcome
    from app.evals.results import CaseResult, Meter
    from app.services import Services

FIRST_CHAT = 900_000
"""Chat ids of the eval's customers: far from the terminal's own (1)."""
OPEN_STATUSES = ("draft", "new", "confirmed", "paid")
_BUTTON = re.compile(r"^\s+(\d+)\) (.*)$")


@dataclass
class Reply:
    text: str
    to_manager: bool
    buttons: list[str] = field(default_factory=list)


def parse(transcript: str) -> list[Reply]:
    """The bot's messages in a `kramar chat` transcript: "[крамар] …" (to the customer),
    "[крамар → менеджерам] …", continuation lines, and "   N) label" buttons."""
    replies: list[Reply] = []
    for line in transcript.splitlines():
        button = _BUTTON.match(line)
        if line.startswith("[крамар"):
            to_manager = line.startswith("[крамар → менеджерам]")
            text = line.split("]", 1)[1].strip().removeprefix("[фото]").strip()
            replies.append(Reply(text, to_manager))
        elif button and replies:
            replies[-1].buttons.append(button.group(2))
        elif replies and line.strip() and not line.startswith("   ("):
            replies[-1].text += "\n" + line
    return replies


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    needs: str | None
    why: str = ""


@dataclass
class Run:
    """What happened in one dialogue."""

    checks: list[Check] = field(default_factory=list)
    transcript: str = ""


def _flat(text: str) -> str:
    return text.replace(NBSP, " ").casefold()


class Script:
    """Plays one dialogue in its own chat and checks it."""

    def __init__(self, services: Services, dialogue: Dialogue, chat_id: int, root: Path) -> None:
        self.services = services
        self.dialogue = dialogue
        self.chat_id = chat_id
        self.root = root
        self.out = io.StringIO()
        self.chat = TerminalChat(services, self.out, chat_id=chat_id)
        self.run = Run()
        self._buttons: list[str] = []

    def check(self, name: str, passed: bool, needs: str | None, why: str = "") -> None:
        # After a pending check failed, what follows cannot be judged until that work lands.
        blocked = next((c.needs for c in self.run.checks if not c.passed and c.needs), None)
        self.run.checks.append(Check(name, passed, needs or blocked, "" if passed else why))

    async def play(self) -> Run:
        cards = await self._catalog()
        for n, turn in enumerate(self.dialogue.turns, start=1):
            start = self.out.tell()
            if turn.say is not None:
                line = turn.say
            elif turn.contact is not None:
                line = f"/contact {turn.contact}"
            elif turn.photo is not None:
                line = f"/photo {self.root / turn.photo}"
            else:
                pressed = self._press(str(turn.press))
                if pressed is None:
                    self.check(f"turn {n}: button", False, None, f"no button {turn.press!r}")
                    break
                line = pressed
            await self.chat.say(line)
            replies = parse(self.out.getvalue()[start:])
            # As the terminal does: a number presses a button of the last message that had any.
            with_buttons = [r for r in replies if not r.to_manager and r.buttons]
            if with_buttons:
                self._buttons = with_buttons[-1].buttons
            if turn.expect is not None:
                await self._expect(n, turn.expect, replies, cards)
        await self._outcome(self.dialogue.outcome)
        self.run.transcript = self.out.getvalue()
        return self.run

    def _press(self, label: str) -> str | None:
        wanted = label.casefold()
        for exact in (True, False):
            for i, text in enumerate(self._buttons, start=1):
                # Button texts carry emoji and prices: "🛒 Замовити", "Худі «Вайб» — 1 290 грн".
                words = text.casefold()
                if (exact and words.split(" ", 1)[-1] == wanted) or (not exact and wanted in words):
                    return str(i)
        return None

    async def _catalog(self) -> dict[str, Product]:
        async with self.services.db.session_factory() as session:
            skus = list(await session.scalars(select(Model.sku).where(Model.active.is_(True))))
        found = {sku: await self.services.product_cache.get(sku) for sku in skus}
        return {sku: card for sku, card in found.items() if card is not None}

    async def _expect(
        self, n: int, expect: Expect, replies: list[Reply], cards: dict[str, Product]
    ) -> None:
        mine = _flat("\n".join(r.text for r in replies if not r.to_manager))
        managers = "\n".join(r.text for r in replies if r.to_manager)
        needs = expect.needs
        for text in expect.contains:
            self.check(f"turn {n}: says {text!r}", _flat(text) in mine, needs, mine[:200])
        if expect.contains_any:
            hit = any(_flat(t) in mine for t in expect.contains_any)
            self.check(f"turn {n}: says one of {expect.contains_any}", hit, needs, mine[:200])
        for text in expect.not_contains:
            self.check(f"turn {n}: does not say {text!r}", _flat(text) not in mine, needs)
        shown = [sku for sku, card in cards.items() if _is_card(mine, card)]
        if expect.card is not None:
            self.check(
                f"turn {n}: card {expect.card}", expect.card in shown, needs, f"cards: {shown}"
            )
        if expect.no_card:
            self.check(f"turn {n}: no product card", not shown, needs, f"cards: {shown}")
        if expect.price_of is not None:
            card = cards.get(expect.price_of)
            price = _flat(format_uah(card.price)) if card else "?"
            self.check(f"turn {n}: price of {expect.price_of}", price in mine, needs, mine[:200])
        if expect.asks:
            self.check(f"turn {n}: asks", "?" in mine and not shown, needs, mine[:200])
        if expect.stock is not None:
            self.check(
                f"turn {n}: stock answer", _true_stock(mine, expect.stock, cards), needs, mine[:200]
            )
        if expect.handoff is not None:
            self.check(
                f"turn {n}: hand-off {expect.handoff}",
                f"({expect.handoff}," in managers,
                needs,
                managers[:200] or "nothing went to the managers",
            )

    async def _outcome(self, outcome: Outcome) -> None:
        async with self.services.db.session_factory() as session:
            orders = (
                await session.scalars(
                    select(Order)
                    .where(Order.chat_id == self.chat_id)
                    .options(selectinload(Order.lines))
                    .order_by(Order.id)
                )
            ).all()
            handoffs = (
                await session.scalars(select(Handoff).where(Handoff.chat_id == self.chat_id))
            ).all()
        placed = [o for o in orders if o.status in OPEN_STATUSES]
        if outcome.order is not None:
            want = outcome.order
            order = placed[-1] if placed else None
            problems = []
            if order is None:
                problems.append("no order")
            else:
                lines = [(li.sku, li.size, li.colour, li.qty) for li in order.lines]
                if lines != [(want.sku, want.size, want.colour, want.qty)]:
                    problems.append(f"lines {lines}")
                if order.total != Decimal(str(want.total)):
                    problems.append(f"total {order.total}")
                if order.status != want.status:
                    problems.append(f"status {order.status}")
                for name, value in (
                    ("delivery_method", want.delivery),
                    ("city", want.city),
                    ("branch", want.branch),
                ):
                    if value is not None and getattr(order, name) != value:
                        problems.append(f"{name} {getattr(order, name)!r}")
            self.check("outcome: order", not problems, want.needs, "; ".join(problems))
        if outcome.no_order:
            self.check("outcome: no order", not placed, None, f"{len(placed)} order(s)")
        told = any("Передача розмови" in r.text for r in parse(self.out.getvalue()) if r.to_manager)
        if outcome.handoff is not None:
            want_h = outcome.handoff
            recorded = any(h.level == want_h.level and h.reason == want_h.reason for h in handoffs)
            self.check(
                "outcome: hand-off recorded",
                recorded,
                want_h.needs,
                f"hand-offs in the database: {[(h.level, h.reason) for h in handoffs]}",
            )
        if outcome.no_handoff:
            self.check("outcome: no hand-off", not told and not handoffs, None)


def _is_card(text: str, card: Product) -> bool:
    """A product card or product answer: its name with its database price."""
    return _flat(card.name) in text and _flat(format_uah(card.price)) in text


def _true_stock(text: str, asked: dict[str, str], cards: dict[str, Product]) -> bool:
    """Does the answer name the product and say "є" exactly when that variant is available?"""
    card = cards.get(asked.get("sku", ""))
    if card is None or _flat(card.name) not in text:
        return False
    available = sum(
        v.available
        for v in card.variants
        if v.size.casefold() == asked.get("size", "").casefold()
        and v.colour.casefold() == asked.get("colour", "").casefold()
    )
    says_no = "немає" in text
    return (not says_no) if available > 0 else says_no


async def run_dialogues(
    services: Services, dialogues: list[Dialogue], root: Path, meter: Meter
) -> list[CaseResult]:
    chats = {d.id: FIRST_CHAT + n for n, d in enumerate(dialogues)}

    async def task(dialogue: Dialogue) -> Run:
        script = Script(services, dialogue, chats[dialogue.id], root)
        await script.chat.say("/start")
        return await script.play()

    def judge(item: Item[Dialogue], run: Run) -> Verdict:
        built = [c for c in run.checks if c.needs is None]
        failed = [c for c in run.checks if not c.passed]
        flags = {
            "outcome": not failed,
            "outcome_built": all(c.passed for c in built),
            "handoff": "Передача розмови" in run.transcript,
        }
        pending = sorted({c.needs for c in failed if c.needs})
        outcome = (
            "reached"
            if not failed
            else ("pending " + ", ".join(pending) if flags["outcome_built"] else "failed")
        )
        detail = {
            "checks": [
                {"check": c.name, "passed": c.passed, "needs": c.needs, "why": c.why}
                for c in run.checks
            ],
            "transcript": run.transcript,
        }
        return Verdict(outcome, flags, None, detail)

    items: list[Item[Any]] = [Item(d.id, d.split, {"lang": d.lang}, d) for d in dialogues]
    return await run_cases("dialog", items, task, judge, meter)
