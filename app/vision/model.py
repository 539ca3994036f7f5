"""The model step of photo identification: used when neither the cache nor the photo index knows.

Two questions to the model chain. First, what is in the photo, in a few words (skipped when the
customer wrote a caption). That description picks the RAG top-k products, and only those go into
the second question: which of these is it? A SKU outside the top-k (or no longer in the catalog)
is rejected, so the model can only choose among real, current products, never invent one.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from app.observability.tracing import annotate, traced
from app.rag.context import build_context
from app.vision.decoding import off_loop
from app.vision.intake import decode_image

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from app.catalog.schemas import Product
    from app.config import VisionSettings
    from app.llm.client import ModelChain

log = logging.getLogger(__name__)

DESCRIBE_PROMPT = (
    "Ти допомагаєш магазину одягу. Опиши річ на фото кількома словами українською: тип одягу, "
    "колір, тканина, деталі (блискавка, капюшон, принт). Лише опис, без вигадок."
)
CHOOSE_PROMPT = (
    "Ти допомагаєш магазину одягу впізнати товар на фото клієнта. Ось єдині товари, серед яких "
    "можна обирати:\n{context}\n\nЯкщо на фото один із них, поверни його SKU і впевненість від 0 "
    "до 1. Якщо жоден не підходить або не впевнений, поверни sku null і коротке уточнювальне "
    "питання клієнту українською. Ціни не називай."
)


class PhotoDescription(BaseModel):
    description: str = Field(min_length=1, max_length=300)


class VisionAnswer(BaseModel):
    sku: str | None = None
    confidence: float = Field(default=0.0, ge=0, le=1)
    question: str | None = Field(default=None, max_length=300)
    """What to ask the customer when the photo is not clear enough."""


@dataclass(frozen=True)
class ModelVerdict:
    sku: str | None
    confidence: float
    question: str | None
    candidates: list[str]
    reason: str = ""


def model_jpeg(photo: bytes, settings: VisionSettings) -> bytes:
    """The photo as the model gets it: decoded safely, downscaled to `max_side` (what vision
    models look at anyway: smaller uploads, faster answers), re-encoded without metadata."""
    img = decode_image(
        photo,
        max_bytes=settings.max_bytes,
        max_pixels=settings.max_pixels,
        max_side=settings.max_side,
    )
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)  # EXIF (GPS, phone model) is not carried over
    return out.getvalue()


class ModelVision:
    def __init__(
        self,
        chain: ModelChain,
        retrieve: Callable[[str, int], Awaitable[list[str]]],
        cards: Callable[[str], Awaitable[Product | None]],
        settings: VisionSettings,
        *,
        k: int = 3,
    ) -> None:
        self._chain = chain
        self._retrieve = retrieve
        self._cards = cards
        self._settings = settings
        self._k = k

    @property
    def enabled(self) -> bool:
        return self._chain.enabled

    @traced("vision.model")
    async def identify(self, photo: bytes, caption: str | None = None) -> ModelVerdict:
        """Ask the model chain; a verdict with sku None when it cannot or may not answer."""
        verdict = await self._identify(photo, caption)
        annotate(
            {
                "vision.sku": verdict.sku,
                "vision.confidence": verdict.confidence,
                "vision.candidates": len(verdict.candidates),
                "vision.reason": verdict.reason or None,
                "vision.captioned": bool(caption and caption.strip()),
            }
        )
        return verdict

    async def _identify(self, photo: bytes, caption: str | None) -> ModelVerdict:
        # ~35 ms of decoding and resizing: off the event loop, like the hashing.
        image = await off_loop(model_jpeg, photo, self._settings)
        description = caption.strip() if caption and caption.strip() else None
        if description is None:
            described = await self._chain.complete(
                [
                    {"role": "system", "content": DESCRIBE_PROMPT},
                    {"role": "user", "content": "Що це?"},
                ],
                schema=PhotoDescription,
                images=[image],
            )
            if described.value is None:
                return ModelVerdict(None, 0.0, None, [], f"no description: {described.outcome}")
            description = described.value.description
        found = [await self._cards(sku) for sku in await self._retrieve(description, self._k)]
        cards = [card for card in found if card is not None and card.active]
        if not cards:
            return ModelVerdict(None, 0.0, None, [], "no candidates")
        candidates = [card.sku for card in cards]
        answer = await self._chain.complete(
            [
                {"role": "system", "content": CHOOSE_PROMPT.format(context=build_context(cards))},
                {"role": "user", "content": caption or "Який це товар?"},
            ],
            schema=VisionAnswer,
            images=[image],
        )
        if answer.value is None:
            return ModelVerdict(None, 0.0, None, candidates, f"no answer: {answer.outcome}")
        verdict = answer.value
        if verdict.sku is not None and verdict.sku not in candidates:
            # Not one of the products it was shown: a guess or an injected SKU. Never trusted.
            log.warning("model named %r outside its candidates %s", verdict.sku, candidates)
            return ModelVerdict(None, 0.0, verdict.question, candidates, "sku not among candidates")
        return ModelVerdict(verdict.sku, verdict.confidence, verdict.question, candidates)
