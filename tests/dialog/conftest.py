"""A real shop for the dialog tests: the services `kramar serve` runs (Postgres with the demo
catalog, in-process caches, offline agent unless a model is given), driven without Telegram."""

from __future__ import annotations

import itertools
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import pytest

from app.dialog.engine import Customer
from app.services import open_services
from tests.fixtures_app import app_settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from app.dialog.engine import Conversation
    from app.dialog.replies import Reply
    from app.services import Services

MANAGERS = -100500
_events = itertools.count(1)


@asynccontextmanager
async def shop(database_url: Any, **overrides: Any) -> AsyncIterator[Services]:
    fields: dict[str, Any] = {"manager_chat_id": MANAGERS, **overrides}
    async with open_services(app_settings(database_url, **fields)) as services:
        yield services


@pytest.fixture(name="services")
async def fx_services(database_url, db, demo_catalog) -> AsyncIterator[Services]:
    async with shop(database_url) as services:
        yield services


class Shopper:
    """One customer talking to the conversation directly (no Telegram in between)."""

    def __init__(self, conversation: Conversation, chat_id: int, name: str = "Олена") -> None:
        self.conversation = conversation
        self.me = Customer(chat_id, name=name)

    @property
    def chat_id(self) -> int:
        return self.me.chat_id

    async def says(self, text: str) -> list[Reply]:
        return await self.conversation.text(self.me, text, event_id=str(next(_events)))

    async def presses(self, data: str) -> list[Reply]:
        return await self.conversation.callback(self.me, data, event_id=str(next(_events)))

    async def shares_contact(self, phone: str) -> list[Reply]:
        return await self.conversation.contact(self.me, phone, self.me.name)


def seen(replies: list[Reply]) -> str:
    """What the customer reads, thousands separators as plain spaces."""
    return "\n".join(r.text for r in replies if not r.to_manager).replace("\xa0", " ")


def data(replies: list[Reply]) -> list[str]:
    """The callback data of every button in `replies`."""
    return [b.data for r in replies for row in r.buttons for b in row]


def for_managers(replies: list[Reply]) -> list[Reply]:
    return [r for r in replies if r.to_manager]
