"""aiogram routers, one per module, joined here in the order they must be tried."""

from __future__ import annotations

from aiogram import Router

from app.alerts import handlers as alert_buttons
from app.bot.handlers import (
    callbacks,
    commands,
    contacts,
    errors,
    manager,
    messages,
    other,
    photos,
)


def build_router() -> Router:
    """A fresh root router (aiogram routers can be attached to one parent only)."""
    root = Router(name="kramar")
    # Silence buttons first: the on-call chat may be the manager chat or a private chat.
    root.include_router(alert_buttons.build())
    # The manager chat first: its messages are relays and commands, never shop questions.
    for module in (manager, commands, photos, contacts, messages, callbacks, other):
        root.include_router(module.build())
    # Errors of every router above propagate to the root's tree: one handler answers them all.
    root.include_router(errors.build())
    return root
