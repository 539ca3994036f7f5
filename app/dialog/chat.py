"""Who is writing, and what one turn of their chat knows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cache.session import ChatSession
    from app.orders.schemas import Order


@dataclass(frozen=True)
class Customer:
    chat_id: int
    name: str = ""
    username: str | None = None


@dataclass
class Chat:
    """One turn of one chat: the customer, the session's context, and the facts read from
    Postgres for this turn (the order being checked out)."""

    customer: Customer
    session: ChatSession
    draft: Order | None = None
    """The chat's order in checkout (status draft), as the database has it now."""
    event_id: str = ""
    """The update id: the idempotency key of effects a redelivery could double."""
    handed_off: bool = False
    """This turn handed the chat to a person."""
    opened_at: str = ""
    """The stage the turn started at (the buttons shown before stay while it does not move)."""

    @property
    def chat_id(self) -> int:
        return self.customer.chat_id
