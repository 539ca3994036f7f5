"""Text suite: each message through the shop's text agent (intent, the product it would show)
and through retrieval; and the embedder comparison (recall and latency per embedder)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.dialog.texts import problem_in
from app.evals.dataset import SHOP_INTENTS
from app.evals.results import Item, Verdict, run_cases
from app.evals.stats import percentile
from app.rag.indexer import reindex
from app.rag.search import retrieve

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.evals.dataset import TextCase
    from app.evals.results import CaseResult, Meter
    from app.rag.embedders import Embedder
    from app.rag.search import Hit
    from app.services import Services

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Said:
    intent: str
    shown: str | None
    """The product the reply names (a card, a price or a stock answer about it), if any; a
    choice of products offered as buttons names none."""
    handoff: bool
    source: str
    top3: tuple[str, ...]
    top_score: float | None
    reply: str


async def run_text(services: Services, cases: list[TextCase], meter: Meter) -> list[CaseResult]:
    factory = services.db.session_factory
    embedder = services.embedder

    async def task(case: TextCase) -> Said:
        # Follow-ups name no product: retrieval of their words alone means nothing.
        hits = [] if case.context else await retrieve(factory, embedder, case.text, k=3)
        if problem_in(case.text) is not None:  # the engine hands these to a person first
            return Said("complaint", None, True, "rules", _skus(hits), _score(hits), "")
        focus = [case.context] if case.context else []
        answer = await services.agent.respond(case.text, focus=focus)
        reply = answer.reply
        shown = reply.skus[0] if reply.skus and not reply.escalate and not reply.topics else None
        return Said(
            reply.intent,
            shown,
            reply.escalate,
            answer.source,
            _skus(hits),
            _score(hits),
            reply.text,
        )

    def judge(item: Item[TextCase], said: Said) -> Verdict:
        case = item.inputs
        flags = {
            "intent": said.intent == case.intent,
            "wrong_answer": said.shown is not None and said.shown not in case.expected,
            "ask": said.shown is None and not said.handoff,
            "handoff": said.handoff,
        }
        if case.intent in SHOP_INTENTS:
            flags["shop_intent"] = said.intent == case.intent
        if case.expected:
            flags["product"] = said.shown in case.expected
        if case.expected and not case.context:
            flags["recall_at_1"] = said.top3[:1] != () and said.top3[0] in case.expected
            flags["recall_at_3"] = any(s in case.expected for s in said.top3)
        if flags["intent"] and not flags["wrong_answer"]:
            outcome = "correct"
        elif flags["wrong_answer"]:
            outcome = "wrong product"
        else:
            outcome = f"intent {said.intent}"
        confidence = said.top_score
        detail: dict[str, object] = {
            "expected": case.expected,
            "intent": said.intent,
            "shown": said.shown,
            "source": said.source,
            "top3": list(said.top3),
            "reply": said.reply[:300],
        }
        if confidence is not None:
            detail["sku_right"] = bool(said.top3) and said.top3[0] in case.expected
        return Verdict(outcome, flags, confidence, detail)

    items: list[Item[Any]] = [
        Item(
            f"{n:03d} {case.text}",
            case.split,
            {"lang": case.lang, "intent": case.intent, "kind": case.slice},
            case,
        )
        for n, case in enumerate(cases, start=1)
    ]
    return await run_cases("text", items, task, judge, meter)


def _skus(hits: list[Hit]) -> tuple[str, ...]:
    return tuple(h.sku for h in hits)


def _score(hits: list[Hit]) -> float | None:
    return hits[0].score if hits else None


@dataclass(frozen=True)
class EmbedderRow:
    embedder: str
    split: str
    cases: int
    at1: int
    at3: int
    latency_p50_ms: float
    latency_p95_ms: float
    embed_p50_ms: float


async def compare_embedders(
    services: Services, cases: list[TextCase], embedders: list[Embedder]
) -> list[EmbedderRow]:
    """Recall@1/@3 of the whole retrieval (full text + vectors) per embedder and split, with
    the time of one retrieval and of embedding one query. Each embedder rebuilds the index;
    the configured one is rebuilt last, so the shop answers as configured afterwards."""
    factory = services.db.session_factory
    wanted = [c for c in cases if c.expected and not c.context]
    rows: list[EmbedderRow] = []
    for embedder in embedders:
        try:
            rows += await _measure(factory, embedder, wanted)
        except Exception:  # an endpoint down or a wrong dimension: a row less, not a failed run
            logger.exception("embedder %s could not be measured", embedder.name)
    await reindex(factory, services.embedder)
    return rows


async def _measure(
    factory: async_sessionmaker[AsyncSession], embedder: Embedder, wanted: list[TextCase]
) -> list[EmbedderRow]:
    rows: list[EmbedderRow] = []
    await reindex(factory, embedder)
    found: dict[str, list[int]] = {}
    latencies: list[float] = []
    embeds: list[float] = []
    for case in wanted:
        started = time.perf_counter()
        await embedder.embed([case.text])
        embeds.append((time.perf_counter() - started) * 1e3)
        started = time.perf_counter()
        hits = [h.sku for h in await retrieve(factory, embedder, case.text, k=3)]
        latencies.append((time.perf_counter() - started) * 1e3)
        for split in (case.split, "all"):
            row = found.setdefault(split, [0, 0, 0])
            row[0] += 1
            row[1] += bool(hits) and hits[0] in case.expected
            row[2] += any(h in case.expected for h in hits)
    for split, (n, at1, at3) in sorted(found.items()):
        rows.append(
            EmbedderRow(
                embedder.name,
                split,
                n,
                at1,
                at3,
                percentile(latencies, 50),
                percentile(latencies, 95),
                percentile(embeds, 50),
            )
        )
    return rows
