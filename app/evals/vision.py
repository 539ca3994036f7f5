"""Vision suite: each photo through the shop's photo identification, judged as the chat would
answer it (card / "is it one of these?" / a question or a person)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from app.evals.results import Item, Meter, Verdict, run_cases
from app.vision.errors import ImageRejectedError

if TYPE_CHECKING:
    from pathlib import Path

    from app.config import DialogSettings
    from app.evals.dataset import VisionCase
    from app.evals.results import CaseResult
    from app.services import Services
    from app.vision.pipeline import Identification

Answer = Literal["card", "ask", "handoff"]


@dataclass(frozen=True)
class Photo:
    path: Path
    expected: tuple[str, ...]


@dataclass(frozen=True)
class Seen:
    """What identification said and how the chat would answer."""

    answer: Answer
    sku: str | None
    confidence: float
    source: str
    shown: tuple[str, ...]
    """The SKUs the customer would see: the card's, or the "one of these?" options."""


def chat_answer(found: Identification, settings: DialogSettings) -> tuple[Answer, list[str]]:
    """How Conversation._identify answers one identification (kept in step with it; the dialog
    suite drives the real one): a card from `high_confidence`, "is it one of these?" from
    `low_confidence` when there is a candidate, otherwise a question or a person."""
    if found.sku is not None and found.confidence >= settings.high_confidence:
        return "card", [found.sku]
    candidates = [found.sku] if found.sku else []
    candidates += [s for s in found.candidates if s not in candidates]
    if candidates and found.confidence >= settings.low_confidence:
        return "ask", candidates[:3]
    return "handoff", []


async def run_vision(
    services: Services, cases: list[VisionCase], root: Path, meter: Meter
) -> list[CaseResult]:
    settings = services.settings.dialog

    async def task(photo: Photo) -> Seen:
        content = await asyncio.to_thread(photo.path.read_bytes)
        try:
            found = await services.identifier.identify(content)
        except ImageRejectedError:
            return Seen("handoff", None, 0.0, "rejected", ())
        answer, shown = chat_answer(found, settings)
        return Seen(answer, found.sku, found.confidence, found.source, tuple(shown))

    def judge(item: Item[Photo], seen: Seen) -> Verdict:
        expected = item.inputs.expected
        in_catalog = bool(expected)
        card_right = seen.answer == "card" and seen.sku in expected
        ask_right = seen.answer == "ask" and any(s in expected for s in seen.shown)
        flags = {
            "wrong_sku": seen.answer == "card" and seen.sku not in expected,
            "ask": seen.answer == "ask",
            "handoff": seen.answer == "handoff",
        }
        if in_catalog:
            flags |= {
                "correct": card_right,
                "asks_right": ask_right,
                "correct_or_asks_right": card_right or ask_right,
            }
        else:
            flags |= {"other_wrong": seen.answer == "card", "other_declined": seen.answer != "card"}
        if card_right:
            outcome = "correct"
        elif seen.answer == "card":
            outcome = "wrong"
        elif ask_right:
            outcome = "asks right"
        elif seen.answer == "ask":
            outcome = "asks wrong" if in_catalog else "asks"
        else:
            outcome = "not sure" if in_catalog else "declined"
        detail: dict[str, object] = {
            "expected": list(expected),
            "answer": seen.answer,
            "sku": seen.sku,
            "source": seen.source,
            "shown": list(seen.shown),
        }
        # Calibration: a named SKU's confidence against whether it was the right one.
        confidence = seen.confidence if seen.sku is not None else None
        if confidence is not None:
            detail["sku_right"] = seen.sku in expected
        return Verdict(outcome, flags, confidence, detail)

    items: list[Item[Any]] = [
        Item(
            case.file,
            case.split,
            {"transform": case.slice},
            Photo(root / case.file, tuple(case.expected)),
        )
        for case in cases
    ]
    return await run_cases("vision", items, task, judge, meter)
