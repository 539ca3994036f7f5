"""What the conversation answers with, independent of Telegram: text, photo, buttons.

The bot turns these into Bot API calls; `kramar chat` prints them. Texts are plain (the sender
escapes them); every price and stock figure in them was rendered from the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Stage = Literal[
    "greeting",
    "discovery",
    "identified",
    "variant",
    "contact",
    "delivery",
    "delivery_np",
    "delivery_courier",
    "summary",
    "ordered",
    "handoff",
]


@dataclass(frozen=True)
class Button:
    text: str
    data: str
    """Callback data (<= 64 bytes, Telegram's limit)."""


@dataclass(frozen=True)
class Reply:
    text: str
    photo: bytes | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    ask_contact: bool = False
    """Show Telegram's "share my phone number" keyboard."""
    to_manager: bool = False
    """Goes to the manager chat instead of the customer."""
    about_chat: int | None = None
    """For manager posts: the customer chat it is about (replies to it are relayed there)."""
    album: tuple[bytes, ...] = field(default=(), repr=False)
    """Several photos sent together before `text` (the "is it one of these?" candidates)."""
    edit_pressed: bool = False
    """Not a new message: the buttons under the message whose button was pressed become
    `buttons` (none: removed), so a used summary cannot be pressed again."""


def pressed_done() -> Reply:
    """Remove the buttons of the message whose button was pressed."""
    return Reply("", edit_pressed=True)


def buttons(*rows: list[tuple[str, str]]) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(Button(text, data) for text, data in row) for row in rows)
