"""Where a conversation is: the session's stage, put right by the facts in Postgres.

Stages: greeting → discovery → identified → variant → contact → delivery (delivery_np,
delivery_courier: which form is asked) → summary → ordered. The checkout stages are not taken
from the session but from the chat's draft order: a session lost mid-checkout (TTL, a Redis
flush) comes back at the step the order is at, and a session that remembers a checkout whose
draft is gone (expired, cancelled) goes back to browsing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.observability.metrics import CONVERSATION_STAGE

if TYPE_CHECKING:
    from app.cache.session import ChatSession
    from app.observability.metrics import FunnelStage
    from app.orders.schemas import Order

CHECKOUT = frozenset({"contact", "delivery", "delivery_np", "delivery_courier", "summary"})
DELIVERY_FORMS = frozenset({"delivery_np", "delivery_courier"})


def enter(session: ChatSession, stage: str, *, funnel: FunnelStage | None = None) -> None:
    """Put the chat at `stage`; `funnel` counts it in conversation_stage_total."""
    session.stage = stage
    if funnel is not None:
        CONVERSATION_STAGE.labels(funnel).inc()


def follow_draft(session: ChatSession, draft: Order | None) -> None:
    """Set the session's stage from the chat's draft order (None: no checkout under way)."""
    if draft is None:
        if session.stage in CHECKOUT:
            session.stage = "identified" if session.selected_skus else "discovery"
        return
    if not session.selected_skus and draft.lines:
        session.selected_skus = [draft.lines[0].sku]
    if not draft.phone:
        session.stage = "contact"
    elif session.stage in DELIVERY_FORMS:
        pass  # the form the customer picked: the session is the only one that knows it
    elif draft.delivery_method is None or not draft.city:
        session.stage = "delivery"
    else:
        session.stage = "summary"
