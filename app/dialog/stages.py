"""Moving a conversation between stages, counted in the sales funnel."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.observability.metrics import CONVERSATION_STAGE

if TYPE_CHECKING:
    from app.cache.session import ChatSession
    from app.observability.metrics import FunnelStage


def enter(session: ChatSession, stage: str, *, funnel: FunnelStage | None = None) -> None:
    """Put the chat at `stage`; `funnel` counts it in conversation_stage_total."""
    session.stage = stage
    if funnel is not None:
        CONVERSATION_STAGE.labels(funnel).inc()
